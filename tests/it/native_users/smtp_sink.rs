//! A tiny SMTP server on a real TCP socket that keeps every message it is given: the
//! mailbox of the sign-up and reset tests. It speaks just enough of RFC 5321 for an
//! SMTP client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and never offers STARTTLS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message received: its recipients and its data (headers and body).
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The first run of 6 digits in the body: a code.
    pub fn code(&self) -> Option<String> {
        let body = self.data.split("\r\n\r\n").nth(1).unwrap_or(&self.data);
        let b = body.as_bytes();
        (0..b.len().saturating_sub(5)).find_map(|i| {
            let w = &b[i..i + 6];
            let alone = (i == 0 || !b[i - 1].is_ascii_digit())
                && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit());
            (alone && w.iter().all(u8::is_ascii_digit))
                .then(|| String::from_utf8_lossy(w).into_owned())
        })
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                            "RCPT" => {
                                to.push(
                                    line[8..]
                                        .trim_matches(|c| c == '<' || c == '>' || c == ' ')
                                        .to_owned(),
                                );
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = w.write_all(b"354 go on\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(&l);
                                    data.push_str("\r\n");
                                }
                                kept.lock().unwrap().push(Mail {
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                                b"250 kept\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"502 no\r\n",
                        };
                        let _ = w.write_all(answer).await;
                    }
                });
            }
        });
        Self {
            url: format!("smtp://127.0.0.1:{port}"),
            mails,
        }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The next message to `to` after the first `seen`, waiting up to 10 s.
    pub async fn wait_for(&self, to: &str, seen: usize) -> Mail {
        for _ in 0..100 {
            let found: Vec<Mail> = self
                .mails()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to))
                .collect();
            if found.len() > seen {
                return found[seen].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} (seen {seen})");
    }
}
