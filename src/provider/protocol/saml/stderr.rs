//! libxmlsec1 (under the SAML engine) reports problems by printing to the process's
//! stderr, with no hook reachable without `unsafe`. `route_stderr_to_log` points file
//! descriptor 2 at a pipe whose lines become log events, so those messages reach the
//! log with everything else. The binary calls it once logging (on stdout) is set up;
//! tests leave stderr alone.

use std::io::{BufRead, BufReader};

/// Longest stderr line logged (xmlsec lines are under 300 bytes).
const MAX_LINE: usize = 1000;

pub fn route_stderr_to_log() -> std::io::Result<()> {
    let (read, write) = rustix::pipe::pipe()?;
    rustix::stdio::dup2_stderr(&write)?;
    // fd 2 now holds the write end; this descriptor is no longer needed.
    drop(write);
    std::thread::Builder::new()
        .name("stderr-to-log".into())
        .spawn(move || {
            let reader = BufReader::new(std::fs::File::from(read));
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let line: String = line.chars().take(MAX_LINE).collect();
                if line.starts_with("func=") {
                    tracing::warn!(target: "xmlsec", "{line}");
                } else if !line.trim().is_empty() {
                    tracing::warn!(target: "stderr", "{line}");
                }
            }
        })?;
    Ok(())
}
