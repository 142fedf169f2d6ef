//! docker-compose.yml and the Dockerfile cannot run here (no container engine): check
//! their structure instead, so that an edit cannot silently drop persistence, the
//! health check, the read-only mounts or the shared store.

use serde_yaml_ng::Value;

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The value following `flag` in a command line.
fn flag<'a>(cmd: &'a [String], flag: &str) -> Option<&'a str> {
    cmd.iter()
        .position(|a| a == flag)
        .and_then(|i| cmd.get(i + 1))
        .map(String::as_str)
}

#[test]
fn compose_file_has_redis_with_aof_and_two_gateway_replicas() {
    let doc: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("valid YAML");
    let services = &doc["services"];

    let redis = &services["redis"];
    assert!(redis["image"].as_str().unwrap().starts_with("redis:"));
    let cmd = strings(&redis["command"]);
    assert_eq!(cmd.first().map(String::as_str), Some("redis-server"));
    assert_eq!(flag(&cmd, "--appendonly"), Some("yes"));
    assert_eq!(flag(&cmd, "--appendfsync"), Some("everysec"));
    assert_eq!(flag(&cmd, "--maxmemory-policy"), Some("noeviction"));
    let health = strings(&redis["healthcheck"]["test"]);
    assert!(health.iter().any(|a| a == "redis-cli") && health.iter().any(|a| a == "ping"));
    assert!(
        strings(&redis["volumes"])
            .iter()
            .any(|v| v.ends_with(":/data")),
        "AOF on a volume"
    );

    let gw = &services["poolgate"];
    assert_eq!(gw["build"].as_str(), Some("."));
    assert_eq!(gw["deploy"]["replicas"].as_u64(), Some(2));
    let env = &gw["environment"];
    let store = env["POOLGATE_STORE"].as_str().unwrap();
    assert_eq!(store, "redis://redis:6379/0");
    assert!(redis::Client::open(store).is_ok(), "the store URL parses");
    assert_eq!(env["POOLGATE_LISTEN"].as_str(), Some("0.0.0.0:8080"));
    assert!(
        env["POOLGATE_ADMIN_TOKEN"]
            .as_str()
            .unwrap()
            .contains("POOLGATE_ADMIN_TOKEN")
    );
    assert_eq!(
        gw["depends_on"]["redis"]["condition"].as_str(),
        Some("service_healthy")
    );
    let mounts = strings(&gw["volumes"]);
    for (host, var) in [
        ("./providers", "POOLGATE_PROVIDERS_DIR"),
        ("./certs", "POOLGATE_CERTS_DIR"),
    ] {
        let target = env[var].as_str().unwrap();
        let mount = format!("{host}:{target}:ro");
        assert!(mounts.contains(&mount), "{mount} in {mounts:?}");
    }
    assert!(
        gw.get("ports").is_none(),
        "replicas are reached through the load balancer"
    );

    let lb = &services["lb"];
    assert_eq!(strings(&lb["ports"]), ["8080:8080"]);
    let conf = doc["configs"]["lb"]["content"].as_str().unwrap();
    assert!(conf.contains("server poolgate:8080;"));
    assert!(
        conf.contains("proxy_set_header Host $$http_host;"),
        "the Host header routes pools"
    );
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_serves() {
    let text = read("Dockerfile");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("AS build"));
    assert!(froms[1].contains("-slim"));
    assert!(lines.iter().any(|l| l.starts_with("COPY --from=build ")));
    let user = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.ends_with("root") && !user.ends_with(" 0"), "{user}");
    assert!(lines.contains(&"EXPOSE 8080"));
    assert!(text.contains("ca-certificates"));
    assert!(lines.contains(&r#"CMD ["serve"]"#));
    assert!(read(".dockerignore").lines().any(|l| l.trim() == "target"));
}

#[test]
fn compose_cluster_profile_has_six_nodes_an_init_and_a_gateway() {
    let doc: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("valid YAML");
    let services = &doc["services"];
    let in_profile = |name: &str| strings(&services[name]["profiles"]) == ["cluster"];
    for i in 1..=6 {
        let name = format!("redis-c{i}");
        assert!(in_profile(&name), "{name} only in the cluster profile");
        let cmd = strings(&services[name.as_str()]["command"]);
        assert_eq!(flag(&cmd, "--cluster-enabled"), Some("yes"), "{name}");
        assert_eq!(flag(&cmd, "--appendonly"), Some("yes"), "{name}");
        assert_eq!(flag(&cmd, "--maxmemory-policy"), Some("noeviction"));
        assert_eq!(
            flag(&cmd, "--cluster-announce-hostname"),
            Some(name.as_str())
        );
        assert!(
            strings(&services[name.as_str()]["volumes"])
                .iter()
                .any(|v| v == &format!("{name}-data:/data")),
            "{name}: AOF on its own volume"
        );
    }
    assert!(in_profile("redis-cluster-init"));
    let init = strings(&services["redis-cluster-init"]["command"]).join(" ");
    assert!(init.contains("--cluster create") && init.contains("--cluster-replicas 1"));
    assert!(in_profile("poolgate-cluster"));
    let gw = &services["poolgate-cluster"];
    let store = gw["environment"]["POOLGATE_STORE"].as_str().unwrap();
    assert!(
        store.starts_with("redis+cluster://redis-c1:6379,"),
        "{store}"
    );
    assert_eq!(
        gw["depends_on"]["redis-cluster-init"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    // The default set-up is unchanged: no profile on the single Redis and its gateways.
    assert!(services["redis"].get("profiles").is_none());
    assert!(services["poolgate"].get("profiles").is_none());
}
