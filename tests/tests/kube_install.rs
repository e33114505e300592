//! The chart on a real Kubernetes API server (`scripts/kube up`: etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler, node objects and no kubelet; scripts/test points
//! `PRICESTREAM_TEST_KUBECONFIG` at it). Checked:
//! - every `ci/*-values.yaml` scenario installs into a namespace that enforces Pod Security
//!   `restricted`, and the controllers create its pods there (a pod with default security
//!   settings is refused in the same namespace, so the enforcement is real);
//! - `helm upgrade` with another config rolls the StatefulSet (a new revision with another
//!   config checksum), `helm rollback` brings the first one back, `helm uninstall` leaves no
//!   object of the release behind (the test deletes the pods where a kubelet would confirm);
//! - peer discovery, run by the analytics binary as the chart's ServiceAccount with a token
//!   from the TokenRequest API, reads the StatefulSet and lists the pods with the chart's Role,
//!   and names the missing permission when a verb is taken away from it.

use anyhow::{Context, bail, ensure};
use pricestream_tests::repo_paths::repo_root;
use pricestream_tests::{binary, run_until};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RELEASE: &str = "ps";

/// The test cluster's kubeconfig: `PRICESTREAM_TEST_KUBECONFIG` (scripts/test sets it to
/// `scripts/kube`'s), never `KUBECONFIG`, which may name a real cluster.
fn kubeconfig() -> anyhow::Result<String> {
    std::env::var("PRICESTREAM_TEST_KUBECONFIG").context(
        "PRICESTREAM_TEST_KUBECONFIG is not set: start the control plane with `scripts/kube up` and set it \
         to the kubeconfig its export line names (scripts/test does both)",
    )
}

fn tool(name: &str) -> PathBuf {
    match name {
        "helm" => repo_root().join(".tools/bin/helm"),
        _ => repo_root().join(".tools/kube/bin").join(name),
    }
}

/// Runs `kubectl` or `helm` with the cluster's kubeconfig; its stdout, or an error with stderr.
fn run(name: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(tool(name))
        .args(args)
        .env("KUBECONFIG", kubeconfig()?)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {name}"))?;
    ensure!(
        output.status.success(),
        "{name} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

fn kubectl_json(args: &[&str]) -> anyhow::Result<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    Ok(serde_json::from_str(&run("kubectl", &all)?)?)
}

/// A fresh namespace that enforces Pod Security `restricted`.
fn restricted_namespace(scenario: &str) -> anyhow::Result<String> {
    let name = format!("ps-{scenario}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    run("kubectl", &["create", "namespace", &name])?;
    run(
        "kubectl",
        &[
            "label",
            "namespace",
            &name,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
        ],
    )?;
    Ok(name)
}

/// Polls `check` until it returns `Some`, for up to `limit`.
fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check()? {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The pods of the release in `namespace`, by name.
fn pods(namespace: &str) -> anyhow::Result<Vec<String>> {
    let list = kubectl_json(&[
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        &format!("app.kubernetes.io/instance={RELEASE}"),
    ])?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect())
}

/// Where a kubelet would confirm a deletion: the pods of `namespace` go away at once.
fn stand_in_for_the_kubelet(namespace: &str) -> anyhow::Result<()> {
    run(
        "kubectl",
        &["delete", "pods", "--all", "-n", namespace, "--force", "--grace-period=0", "--wait=false"],
    )?;
    Ok(())
}

/// What a cluster admin provides before such an install: for each `claimName` the values
/// name, a claim in `namespace` bound to a volume made for it.
fn provide_claims(namespace: &str, values: &str) -> anyhow::Result<()> {
    for claim in values.lines().filter_map(|l| l.trim().strip_prefix("claimName:")).map(str::trim) {
        let objects = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[
            {{"apiVersion":"v1","kind":"PersistentVolume","metadata":{{"name":"{namespace}-{claim}"}},
              "spec":{{"capacity":{{"storage":"1Gi"}},"accessModes":["ReadOnlyMany"],"storageClassName":"",
              "hostPath":{{"path":"/srv/{claim}"}},"claimRef":{{"namespace":"{namespace}","name":"{claim}"}}}}}},
            {{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{{"name":"{claim}","namespace":"{namespace}"}},
              "spec":{{"accessModes":["ReadOnlyMany"],"storageClassName":"","volumeName":"{namespace}-{claim}",
              "resources":{{"requests":{{"storage":"1Gi"}}}}}}}}]}}"#
        );
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), objects)?;
        run("kubectl", &["create", "-f", &file.path().to_string_lossy()])?;
    }
    Ok(())
}

fn config_checksum(namespace: &str) -> anyhow::Result<String> {
    let set =
        kubectl_json(&["get", "statefulset", "-n", namespace, &format!("{RELEASE}-pricestream-analytics")])?;
    let annotations = &set["spec"]["template"]["metadata"]["annotations"];
    let checksum = annotations
        .as_object()
        .and_then(|a| a.iter().find(|(k, _)| k.starts_with("checksum/")).map(|(_, v)| v.clone()));
    checksum
        .and_then(|v| v.as_str().map(str::to_owned))
        .context("the StatefulSet's pod template has no config checksum")
}

#[test]
fn every_scenario_installs_restricted_upgrades_rolls_back_and_uninstalls_clean() -> anyhow::Result<()> {
    let chart = repo_root().join("helm/pricestream");
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(chart.join("ci"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-values.yaml"))
        .collect();
    scenarios.sort();
    ensure!(scenarios.len() >= 4, "expected the four ci scenarios, found {scenarios:?}");
    for values in &scenarios {
        let scenario =
            values.file_name().and_then(|n| n.to_str()).unwrap_or_default().trim_end_matches("-values.yaml");
        let ns = restricted_namespace(scenario)?;
        provide_claims(&ns, &std::fs::read_to_string(values)?)?;
        let values_arg = values.to_string_lossy();
        let chart_arg = chart.to_string_lossy();
        run("helm", &["install", RELEASE, &chart_arg, "-n", &ns, "-f", &values_arg])
            .with_context(|| format!("scenario {scenario}: install"))?;

        // The controllers create the pods, admitted under `restricted`, and the scheduler binds
        // them to the node (GPUs counted); a pod with the default security settings is refused.
        let created =
            wait_for(&format!("scenario {scenario}: the workloads' pods"), Duration::from_secs(90), || {
                let found = pods(&ns)?;
                Ok((found.iter().any(|p| p.contains("-analytics-"))
                    && found.iter().any(|p| p.contains("-extractor-")))
                .then_some(found))
            })?;
        wait_for(
            &format!("scenario {scenario}: the pods bound to the node"),
            Duration::from_secs(60),
            || {
                let list = kubectl_json(&["get", "pods", "-n", &ns])?;
                let items = list["items"].as_array().cloned().unwrap_or_default();
                // A pod that asks for a GPU is on the GPU pool, every other one on the CPU pool.
                let placed = |pod: &Value| {
                    let gpu =
                        pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"].is_string();
                    let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
                    node.starts_with(if gpu { "pricestream-gpu-" } else { "pricestream-cpu-" })
                };
                Ok(items.iter().all(placed).then_some(()))
            },
        )?;
        let plain = format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"plain","namespace":"{ns}"}},
            "spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
        );
        let refused = Command::new(tool("kubectl"))
            .args(["create", "-f", "-"])
            .env("KUBECONFIG", kubeconfig()?)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().map(|mut stdin| stdin.write_all(plain.as_bytes())).transpose()?;
                child.wait_with_output()
            })?;
        let message = String::from_utf8_lossy(&refused.stderr);
        ensure!(
            !refused.status.success() && message.contains("violates PodSecurity"),
            "scenario {scenario}: a pod with default security settings was not refused: {message}"
        );

        // Another config rolls the StatefulSet; the rollback brings the first back.
        let first = config_checksum(&ns)?;
        run(
            "helm",
            &[
                "upgrade",
                RELEASE,
                &chart_arg,
                "-n",
                &ns,
                "-f",
                &values_arg,
                "--set",
                "kafka.topicPrefix=upgraded.",
            ],
        )?;
        let second = config_checksum(&ns)?;
        ensure!(second != first, "scenario {scenario}: the config changed but the pod template did not");
        let set = format!("{RELEASE}-pricestream-analytics");
        wait_for(
            &format!("scenario {scenario}: a new StatefulSet revision"),
            Duration::from_secs(60),
            || {
                let status = kubectl_json(&["get", "statefulset", "-n", &ns, &set])?;
                let status = &status["status"];
                Ok((status["updateRevision"].is_string()
                    && status["updateRevision"] != status["currentRevision"])
                    .then_some(()))
            },
        )?;
        run("helm", &["rollback", RELEASE, "1", "-n", &ns])?;
        ensure!(config_checksum(&ns)? == first, "scenario {scenario}: the rollback kept the upgraded config");

        // Uninstall: nothing of the release is left.
        run("helm", &["uninstall", RELEASE, "-n", &ns, "--wait=false"])?;
        stand_in_for_the_kubelet(&ns)?;
        let kinds = "all,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,networkpolicies,cronjobs";
        wait_for(
            &format!("scenario {scenario}: nothing left after uninstall"),
            Duration::from_secs(60),
            || {
                stand_in_for_the_kubelet(&ns)?;
                let left = kubectl_json(&[
                    "get",
                    kinds,
                    "-n",
                    &ns,
                    "-l",
                    &format!("app.kubernetes.io/instance={RELEASE}"),
                ])?;
                Ok(left["items"].as_array().is_some_and(|items| items.is_empty()).then_some(()))
            },
        )?;
        run("kubectl", &["delete", "namespace", &ns, "--wait=false"])?;
        eprintln!(
            "scenario {scenario}: installed ({} pods admitted), upgraded, rolled back, uninstalled",
            created.len()
        );
    }
    Ok(())
}

/// The analytics binary as pod 0 of the release's StatefulSet, through a kubeconfig that holds
/// `token` (the ServiceAccount's): its log until discovery got as far as it can outside the
/// cluster (the peers' DNS names do not resolve here) or failed.
fn discover_as(namespace: &str, token: &str) -> anyhow::Result<String> {
    let admin = std::fs::read_to_string(kubeconfig()?)?;
    let field = |name: &str| {
        admin
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .context(name.to_owned())
    };
    let (server, ca) = (field("server:")?, field("certificate-authority:")?);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("token.kubeconfig");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
             certificate-authority: {ca}\nusers:\n- name: sa\n  user:\n    token: {token}\ncontexts:\n- name: c\n  \
             context: {{cluster: c, user: sa, namespace: {namespace}}}\ncurrent-context: c\n"
        ),
    )?;
    let mut analytics = Command::new(binary("pricestream-analytics")?);
    analytics
        .args(["run"])
        .env("KUBECONFIG", &config)
        .env("POD_NAME", format!("{RELEASE}-pricestream-analytics-0"))
        .env("POD_NAMESPACE", namespace)
        .env("PRICESTREAM_PEER_SERVICE", format!("{RELEASE}-pricestream-analytics"))
        .env("PRICESTREAM_PEER_PORT", "2101")
        .env("PRICESTREAM_HTTP_ADDR", "127.0.0.1:0")
        .env_remove("PRICESTREAM_CONFIG");
    Ok(run_until(analytics, Duration::from_secs(60), Some("timely peers"))?.1)
}

#[test]
fn peer_discovery_works_as_the_charts_service_account_and_names_a_missing_permission() -> anyhow::Result<()> {
    let chart = repo_root().join("helm/pricestream");
    let ns = restricted_namespace("discovery")?;
    let values = chart.join("ci/default-values.yaml");
    run(
        "helm",
        &[
            "install",
            RELEASE,
            &chart.to_string_lossy(),
            "-n",
            &ns,
            "-f",
            &values.to_string_lossy(),
            "--set",
            "analytics.replicas=2",
        ],
    )?;
    let account = format!("{RELEASE}-pricestream-analytics");
    let token = run("kubectl", &["create", "token", &account, "-n", &ns, "--duration", "10m"])?;
    let token = token.trim();

    // With the chart's Role: the StatefulSet is read (2 processes) and the pods are listed.
    let log = discover_as(&ns, token)?;
    ensure!(
        log.contains("Joining the timely cluster") && log.contains("processes=2"),
        "the StatefulSet was not read:\n{log}"
    );
    ensure!(log.contains("Waiting for timely peers"), "the pods were not listed:\n{log}");

    // Without `list` on pods: refused, naming the permission.
    let role = kubectl_json(&["get", "role", &account, "-n", &ns])?;
    let mut reduced = role.clone();
    if let Some(rules) = reduced["rules"].as_array_mut() {
        rules.retain(|rule| rule["resources"] != serde_json::json!(["pods"]));
    }
    ensure!(reduced["rules"] != role["rules"], "the chart's Role has no rule on pods: {role}");
    let reduced_file = tempfile::NamedTempFile::new()?;
    std::fs::write(reduced_file.path(), serde_json::to_vec(&reduced)?)?;
    run("kubectl", &["replace", "-f", &reduced_file.path().to_string_lossy()])?;
    let log = discover_as(&ns, token)?;
    ensure!(
        log.contains("refused to list the analytics pods")
            && log.contains("needs get on statefulsets and list on pods"),
        "a Role without list on pods was not named:\n{log}"
    );
    run("helm", &["uninstall", RELEASE, "-n", &ns, "--wait=false"])?;
    stand_in_for_the_kubelet(&ns)?;
    run("kubectl", &["delete", "namespace", &ns, "--wait=false"])?;
    Ok(())
}
