//! The Helm chart in `helm/pricestream`, rendered with `helm template` for every
//! `ci/*-values.yaml` scenario and checked strictly:
//!
//! - every object goes through its `k8s-openapi` type and back; a field that does not
//!   survive the round trip is misspelt or misplaced, and fails the test by name;
//! - the deployment policies hold: no cluster-wide RBAC, a Role with exactly the verbs
//!   peer discovery uses, GPUs only on analytics, requests, limits and probes on every
//!   container, non-root with a read-only root filesystem, no capabilities and the
//!   RuntimeDefault seccomp profile, credentials only from existing Secrets;
//! - the config files the chart renders are accepted by the binaries themselves;
//! - a misspelt value fails `helm template`, naming the key.
//!
//! helm comes from `.tools/bin/helm` (installed by `scripts/check-deploy`) or PATH;
//! without it these tests fail rather than pass unchecked.

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use pricestream_tests::{binary, run_until};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The Kubernetes version the chart is rendered for (a helm built with `go install`
/// would otherwise assume 1.20, which the chart's kubeVersion refuses).
const KUBE_VERSION: &str = "1.33.0";
/// The Prometheus Operator API the monitoring objects need.
const MONITORING_API: &str = "monitoring.coreos.com/v1";
/// Release name and namespace of every rendering.
const RELEASE: &str = "ps";
const NAMESPACE: &str = "markets";
/// The scenarios CI must keep covering.
const SCENARIOS: [&str; 4] = ["default", "gpu-3-replicas", "external-services", "monitoring"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart() -> PathBuf {
    repo().join("helm/pricestream")
}

/// The helm binary: the pinned one of `scripts/check-deploy`, else one on PATH.
fn helm() -> anyhow::Result<PathBuf> {
    let pinned = repo().join(".tools/bin/helm");
    if pinned.is_file() {
        return Ok(pinned);
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("helm")).find(|p| p.is_file()));
    on_path.context(
        "helm is not installed: run scripts/check-deploy, which installs the pinned helm into .tools/bin",
    )
}

/// Runs `helm template` on the chart with these values files.
fn helm_template(values: &[&Path], monitoring_api: bool) -> anyhow::Result<Output> {
    let mut command = Command::new(helm()?);
    command.args(["template", RELEASE]).arg(chart());
    command.args(["--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]);
    if monitoring_api {
        command.args(["--api-versions", MONITORING_API]);
    }
    for file in values {
        command.arg("--values").arg(file);
    }
    command.output().context("cannot run helm")
}

/// The ci scenario files by name (`default` for `ci/default-values.yaml`).
fn scenarios() -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(chart().join("ci"))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(scenario) = name.strip_suffix("-values.yaml") {
            found.push((scenario.to_owned(), path.clone()));
        }
    }
    found.sort();
    for expected in SCENARIOS {
        ensure!(found.iter().any(|(name, _)| name == expected), "ci/{expected}-values.yaml is missing");
    }
    Ok(found)
}

/// The objects of one scenario, each as the JSON of its YAML document.
fn render(values: &Path, monitoring_api: bool) -> anyhow::Result<Vec<Value>> {
    let output = helm_template(&[values], monitoring_api)?;
    ensure!(
        output.status.success(),
        "helm template -f {} failed:\n{}",
        values.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout)?;
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value = Value::deserialize(document).context("helm rendered a document that is not YAML")?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    ensure!(!objects.is_empty(), "{} rendered no object", values.display());
    Ok(objects)
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Value) -> String {
    format!("{} {}", kind(object), object["metadata"]["name"].as_str().unwrap_or("<no name>"))
}

fn of_kind<'a>(objects: &'a [Value], wanted: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| kind(o) == wanted).collect()
}

/// The one object of kind `wanted`; an error when there are none or several.
fn the_one<'a>(objects: &'a [Value], wanted: &str) -> anyhow::Result<&'a Value> {
    match of_kind(objects, wanted).as_slice() {
        [one] => Ok(one),
        all => bail!("expected one {wanted}, got {}", all.len()),
    }
}

/// The ConfigMap with the config files.
fn config_files(objects: &[Value]) -> anyhow::Result<&Value> {
    let maps = of_kind(objects, "ConfigMap");
    let config =
        maps.into_iter().find(|c| c["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("-config")));
    config.map(|c| &c["data"]).context("no config ConfigMap")
}

/// Every difference between the rendered JSON and its round trip, as `path: what`.
fn differences(path: &str, rendered: &Value, back: &Value, out: &mut Vec<String>) {
    match (rendered, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    None if value.is_null() => {
                        out.push(format!("{here}: null (an empty key in a template?)"))
                    }
                    None => out.push(format!("{here}: not a field of this type (misspelt or misplaced?)")),
                    Some(other) => differences(&here, value, other, out),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{key}: appeared in the round trip"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if rendered == back => {}
        _ => out.push(format!("{path}: {rendered} became {back}")),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(object: &Value) -> anyhow::Result<()> {
    let typed: T = serde_json::from_value(object.clone())
        .with_context(|| format!("{} does not deserialize into its k8s-openapi type", name(object)))?;
    let back = serde_json::to_value(&typed)?;
    let mut found = Vec::new();
    differences("", object, &back, &mut found);
    ensure!(found.is_empty(), "{} does not survive the round trip:\n  {}", name(object), found.join("\n  "));
    Ok(())
}

/// Keys of a JSON object that are not in `allowed`.
fn unknown_keys(value: &Value, allowed: &[&str]) -> Vec<String> {
    value
        .as_object()
        .map_or_else(Vec::new, |map| map.keys().filter(|k| !allowed.contains(&k.as_str())).cloned().collect())
}

/// ServiceMonitor: k8s-openapi has no type for it, so its fields are checked by name.
fn check_service_monitor(object: &Value) -> anyhow::Result<()> {
    let spec = &object["spec"];
    let mut unknown = unknown_keys(object, &["apiVersion", "kind", "metadata", "spec"]);
    unknown.extend(unknown_keys(spec, &["selector", "namespaceSelector", "endpoints", "jobLabel"]));
    let endpoints = spec["endpoints"].as_array().context("ServiceMonitor without endpoints")?;
    ensure!(!endpoints.is_empty(), "{}: no endpoints", name(object));
    for endpoint in endpoints {
        unknown.extend(unknown_keys(
            endpoint,
            &["port", "path", "interval", "scrapeTimeout", "relabelings", "metricRelabelings", "scheme"],
        ));
        ensure!(endpoint["port"] == "metrics", "{}: scrapes port {}", name(object), endpoint["port"]);
        for relabeling in endpoint["relabelings"].as_array().into_iter().flatten() {
            unknown.extend(unknown_keys(
                relabeling,
                &["action", "sourceLabels", "separator", "targetLabel", "regex", "replacement", "modulus"],
            ));
        }
    }
    ensure!(unknown.is_empty(), "{}: unknown fields {unknown:?}", name(object));
    ensure!(spec["selector"]["matchLabels"].is_object(), "{}: no selector", name(object));
    Ok(())
}

/// PrometheusRule: its groups must be rules/pricestream.rules.yaml exactly, the file
/// promtool checks and unit-tests.
fn check_prometheus_rule(object: &Value) -> anyhow::Result<()> {
    let unknown = unknown_keys(object, &["apiVersion", "kind", "metadata", "spec"]);
    ensure!(unknown.is_empty(), "{}: unknown fields {unknown:?}", name(object));
    let file = std::fs::read_to_string(chart().join("rules/pricestream.rules.yaml"))?;
    let expected: Value = serde_yaml_ng::from_str(&file)?;
    ensure!(object["spec"] == expected, "{}: spec differs from rules/pricestream.rules.yaml", name(object));
    for group in expected["groups"].as_array().context("the rules file has no groups")? {
        for rule in group["rules"].as_array().context("a rule group without rules")? {
            let unknown = unknown_keys(rule, &["alert", "record", "expr", "for", "labels", "annotations"]);
            ensure!(unknown.is_empty(), "rule {}: unknown fields {unknown:?}", rule["alert"]);
            ensure!(rule["expr"].is_string(), "rule {} has no expr", rule["alert"]);
        }
    }
    Ok(())
}

/// Round-trips one object through the type its kind names.
fn check_object(object: &Value) -> anyhow::Result<()> {
    match kind(object) {
        "Deployment" => round_trip::<Deployment>(object),
        "StatefulSet" => round_trip::<StatefulSet>(object),
        "CronJob" => round_trip::<CronJob>(object),
        "Service" => round_trip::<Service>(object),
        "ConfigMap" => round_trip::<ConfigMap>(object),
        "ServiceAccount" => round_trip::<ServiceAccount>(object),
        "Role" => round_trip::<Role>(object),
        "RoleBinding" => round_trip::<RoleBinding>(object),
        "PodDisruptionBudget" => round_trip::<PodDisruptionBudget>(object),
        "NetworkPolicy" => round_trip::<NetworkPolicy>(object),
        "ServiceMonitor" | "PrometheusRule" => {
            ensure!(
                object["apiVersion"] == MONITORING_API,
                "{}: apiVersion {}",
                name(object),
                object["apiVersion"]
            );
            if kind(object) == "ServiceMonitor" {
                check_service_monitor(object)
            } else {
                check_prometheus_rule(object)
            }
        }
        other => bail!("{}: the chart should not render a {other}", name(object)),
    }
}

/// Every pod template of the rendered objects: (owner, pod spec, is a CronJob's).
fn pod_specs(objects: &[Value]) -> Vec<(String, &Value, bool)> {
    let mut pods = Vec::new();
    for object in objects {
        match kind(object) {
            "Deployment" | "StatefulSet" => {
                pods.push((name(object), &object["spec"]["template"]["spec"], false));
            }
            "CronJob" => {
                pods.push((name(object), &object["spec"]["jobTemplate"]["spec"]["template"]["spec"], true));
            }
            _ => {}
        }
    }
    pods
}

fn pod_templates(objects: &[Value]) -> Vec<(String, &Value)> {
    objects
        .iter()
        .filter_map(|o| match kind(o) {
            "Deployment" | "StatefulSet" => Some((name(o), &o["spec"]["template"])),
            "CronJob" => Some((name(o), &o["spec"]["jobTemplate"]["spec"]["template"])),
            _ => None,
        })
        .collect()
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod["initContainers"].as_array().into_iter().flatten())
}

fn is_true(value: &Value) -> bool {
    value.as_bool() == Some(true)
}

/// Non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp.
fn check_security(owner: &str, pod: &Value) -> anyhow::Result<()> {
    let pod_context = &pod["securityContext"];
    ensure!(is_true(&pod_context["runAsNonRoot"]), "{owner}: the pod is not runAsNonRoot");
    ensure!(pod_context["runAsUser"].as_i64().is_some_and(|u| u > 0), "{owner}: the pod may run as root");
    let pod_seccomp = &pod_context["seccompProfile"]["type"];
    for container in containers(pod) {
        let context = &container["securityContext"];
        let who = format!("{owner} container {}", container["name"]);
        ensure!(
            is_true(&context["runAsNonRoot"])
                || (context["runAsNonRoot"].is_null() && is_true(&pod_context["runAsNonRoot"])),
            "{who}: not runAsNonRoot"
        );
        ensure!(context["runAsUser"].as_i64().is_none_or(|u| u > 0), "{who}: runs as root");
        ensure!(is_true(&context["readOnlyRootFilesystem"]), "{who}: root filesystem is writable");
        ensure!(context["allowPrivilegeEscalation"] == false, "{who}: allows privilege escalation");
        ensure!(!is_true(&context["privileged"]), "{who}: is privileged");
        let dropped = context["capabilities"]["drop"].as_array().cloned().unwrap_or_default();
        ensure!(dropped.iter().any(|c| c == "ALL"), "{who}: does not drop ALL capabilities");
        ensure!(context["capabilities"]["add"].is_null(), "{who}: adds capabilities");
        let seccomp = if context["seccompProfile"].is_null() {
            pod_seccomp
        } else {
            &context["seccompProfile"]["type"]
        };
        ensure!(seccomp == "RuntimeDefault", "{who}: seccomp profile {seccomp}, not RuntimeDefault");
        let tmp =
            container["volumeMounts"].as_array().into_iter().flatten().any(|m| m["mountPath"] == "/tmp");
        ensure!(tmp, "{who}: no writable /tmp under a read-only root filesystem");
    }
    Ok(())
}

/// Requests and limits (CPU and memory) everywhere; probes on long-running containers.
fn check_resources_and_probes(owner: &str, pod: &Value, is_job: bool) -> anyhow::Result<()> {
    for container in containers(pod) {
        let who = format!("{owner} container {}", container["name"]);
        for side in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                ensure!(container["resources"][side][resource].is_string(), "{who}: no {side}.{resource}");
            }
        }
        if !is_job {
            for probe in ["livenessProbe", "readinessProbe"] {
                ensure!(container[probe]["httpGet"]["path"].is_string(), "{who}: no {probe}");
            }
            ensure!(
                container["livenessProbe"]["httpGet"]["path"] == "/healthz",
                "{who}: liveness is not /healthz"
            );
            ensure!(
                container["readinessProbe"]["httpGet"]["path"] == "/readyz",
                "{who}: readiness is not /readyz"
            );
        }
    }
    Ok(())
}

/// GPUs are requested by analytics pods only; returns the analytics GPU limit.
fn check_gpus(objects: &[Value]) -> anyhow::Result<Option<String>> {
    let mut analytics_gpus = None;
    for (owner, pod, _) in pod_specs(objects) {
        for container in containers(pod) {
            let resources = &container["resources"];
            let gpu_keys: Vec<(String, String)> = ["requests", "limits"]
                .iter()
                .flat_map(|side| resources[*side].as_object().into_iter().flatten())
                .filter(|(key, _)| key.contains("gpu"))
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect();
            if gpu_keys.is_empty() {
                continue;
            }
            let is_analytics = owner.starts_with("StatefulSet ") && owner.ends_with("-analytics");
            ensure!(is_analytics, "{owner}: requests a GPU ({gpu_keys:?}); only analytics may");
            analytics_gpus = resources["limits"]["nvidia.com/gpu"].as_str().map(str::to_owned);
        }
    }
    Ok(analytics_gpus)
}

/// What peer discovery calls (analytics/src/discovery/): GET its StatefulSet (at start and
/// when polling for a rescale) and LIST the pods; (API group, resource, verb).
const DISCOVERY_GRANTS: [(&str, &str, &str); 2] = [("", "pods", "list"), ("apps", "statefulsets", "get")];

/// Every (API group, resource, verb) a Role grants, with wildcards and resource names
/// refused: a grant must be spelt out.
fn role_grants(role: &Value) -> anyhow::Result<BTreeSet<(String, String, String)>> {
    let strings = |value: &Value| -> Vec<String> {
        value.as_array().into_iter().flatten().map(|v| v.as_str().unwrap_or("?").to_owned()).collect()
    };
    let mut grants = BTreeSet::new();
    for rule in role["rules"].as_array().context("a Role without rules")? {
        ensure!(rule["nonResourceURLs"].is_null(), "{}: nonResourceURLs in a Role", name(role));
        ensure!(rule["resourceNames"].is_null(), "{}: resourceNames in a Role", name(role));
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    grants.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    Ok(grants)
}

/// Exactly the verbs peer discovery uses, only namespaced, never cluster-admin.
fn check_rbac(objects: &[Value], text: &str) -> anyhow::Result<()> {
    for forbidden in ["ClusterRole", "ClusterRoleBinding", "Secret"] {
        ensure!(of_kind(objects, forbidden).is_empty(), "the chart renders a {forbidden}");
    }
    ensure!(!text.contains("cluster-admin"), "the chart mentions cluster-admin");
    let wanted: BTreeSet<(String, String, String)> = DISCOVERY_GRANTS
        .iter()
        .map(|(group, resource, verb)| ((*group).to_owned(), (*resource).to_owned(), (*verb).to_owned()))
        .collect();
    for role in of_kind(objects, "Role") {
        let grants = role_grants(role)?;
        let extra: Vec<_> = grants.difference(&wanted).collect();
        let missing: Vec<_> = wanted.difference(&grants).collect();
        ensure!(
            extra.is_empty() && missing.is_empty(),
            "{}: grants (group, resource, verb) {extra:?} that peer discovery does not use, and lacks {missing:?}",
            name(role)
        );
    }
    for binding in of_kind(objects, "RoleBinding") {
        ensure!(
            binding["roleRef"]["kind"] == "Role",
            "{}: binds a {}",
            name(binding),
            binding["roleRef"]["kind"]
        );
        for subject in binding["subjects"].as_array().into_iter().flatten() {
            ensure!(subject["kind"] == "ServiceAccount", "{}: binds a {}", name(binding), subject["kind"]);
            ensure!(
                subject["name"].as_str().is_some_and(|n| n.ends_with("-analytics")),
                "{}: binds {}",
                name(binding),
                subject["name"]
            );
        }
    }
    Ok(())
}

/// Credentials only through secretKeyRef; the extractor gets no API token.
fn check_credentials(objects: &[Value]) -> anyhow::Result<()> {
    for (owner, pod, _) in pod_specs(objects) {
        for container in containers(pod) {
            for env in container["env"].as_array().into_iter().flatten() {
                let var = env["name"].as_str().unwrap_or_default();
                let secret =
                    ["PASSWORD", "USERNAME", "API_KEY", "TOKEN", "SECRET"].iter().any(|s| var.contains(s));
                if secret {
                    ensure!(env["value"].is_null(), "{owner}: {var} is set inline");
                    ensure!(
                        env["valueFrom"]["secretKeyRef"]["name"].is_string(),
                        "{owner}: {var} is not from a Secret"
                    );
                }
            }
        }
        if !owner.ends_with("-analytics") {
            ensure!(
                pod["automountServiceAccountToken"] == false,
                "{owner}: mounts an API token it does not need"
            );
        }
    }
    for account in of_kind(objects, "ServiceAccount") {
        let account_name = account["metadata"]["name"].as_str().unwrap_or_default();
        if account_name.ends_with("-extractor") {
            ensure!(
                account["automountServiceAccountToken"] == false,
                "{}: automounts its token",
                name(account)
            );
        }
    }
    for config in of_kind(objects, "ConfigMap") {
        let text = config["data"].to_string().to_lowercase();
        ensure!(
            !text.contains("password") && !text.contains("username"),
            "{}: holds credentials",
            name(config)
        );
    }
    Ok(())
}

/// Pods roll when the config changes.
fn check_checksums(objects: &[Value]) -> anyhow::Result<()> {
    for (owner, template) in pod_templates(objects) {
        let checksum = template["metadata"]["annotations"]["checksum/config"].as_str().unwrap_or_default();
        ensure!(
            checksum.len() == 64 && checksum.chars().all(|c| c.is_ascii_hexdigit()),
            "{owner}: no checksum/config annotation"
        );
    }
    Ok(())
}

fn env_value<'a>(container: &'a Value, var: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == var)
}

/// The analytics StatefulSet forms one timely cluster through its headless Service.
fn check_analytics_cluster(objects: &[Value]) -> anyhow::Result<()> {
    for set in of_kind(objects, "StatefulSet") {
        let spec = &set["spec"];
        ensure!(spec["podManagementPolicy"] == "Parallel", "{}: pods must start together", name(set));
        let service_name = spec["serviceName"].as_str().context("StatefulSet without serviceName")?;
        let service = of_kind(objects, "Service")
            .into_iter()
            .find(|s| s["metadata"]["name"] == service_name)
            .with_context(|| format!("{}: Service {service_name} is not rendered", name(set)))?;
        ensure!(service["spec"]["clusterIP"] == "None", "{}: not headless", name(service));
        ensure!(
            is_true(&service["spec"]["publishNotReadyAddresses"]),
            "{}: peers must resolve before ready",
            name(service)
        );
        let container = &spec["template"]["spec"]["containers"][0];
        let field =
            |var: &str| env_value(container, var).map(|e| e["valueFrom"]["fieldRef"]["fieldPath"].clone());
        ensure!(field("POD_NAME") == Some(Value::from("metadata.name")), "{}: POD_NAME", name(set));
        ensure!(
            field("POD_NAMESPACE") == Some(Value::from("metadata.namespace")),
            "{}: POD_NAMESPACE",
            name(set)
        );
        let peer_service = env_value(container, "PRICESTREAM_PEER_SERVICE").map(|e| e["value"].clone());
        ensure!(peer_service == Some(Value::from(service_name)), "{}: PRICESTREAM_PEER_SERVICE", name(set));
        let timely_port = container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "timely")
            .and_then(|p| p["containerPort"].as_i64())
            .context("no timely port")?;
        let peer_port = env_value(container, "PRICESTREAM_PEER_PORT").and_then(|e| e["value"].as_str());
        ensure!(peer_port == Some(timely_port.to_string().as_str()), "{}: PRICESTREAM_PEER_PORT", name(set));
        let args: Vec<&str> =
            container["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        ensure!(args.first() == Some(&"run") && args.contains(&"--workers"), "{}: args {args:?}", name(set));
        let token = &spec["template"]["spec"]["automountServiceAccountToken"];
        ensure!(is_true(token), "{}: peer discovery needs the pod's API token", name(set));
    }
    Ok(())
}

/// Everything a scenario must satisfy, whatever its values.
fn check_scenario(scenario: &str, objects: &[Value]) -> anyhow::Result<()> {
    let mut errors = Vec::new();
    for object in objects {
        if let Err(e) = check_object(object) {
            errors.push(format!("{e:#}"));
        }
    }
    ensure!(errors.is_empty(), "scenario {scenario}:\n{}", errors.join("\n"));
    let text = serde_json::to_string(objects)?;
    check_rbac(objects, &text)?;
    check_credentials(objects)?;
    check_checksums(objects)?;
    check_analytics_cluster(objects)?;
    check_gpus(objects)?;
    for (owner, pod, is_job) in pod_specs(objects) {
        check_security(&owner, pod).with_context(|| format!("scenario {scenario}"))?;
        check_resources_and_probes(&owner, pod, is_job).with_context(|| format!("scenario {scenario}"))?;
    }
    for component in ["extractor", "analytics"] {
        let budget = of_kind(objects, "PodDisruptionBudget")
            .into_iter()
            .any(|p| p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component);
        ensure!(budget, "scenario {scenario}: no PodDisruptionBudget for {component}");
        let account = of_kind(objects, "ServiceAccount")
            .into_iter()
            .any(|a| a["metadata"]["name"].as_str().is_some_and(|n| n.ends_with(&format!("-{component}"))));
        ensure!(account, "scenario {scenario}: no ServiceAccount for {component}");
    }
    Ok(())
}

#[test]
fn every_scenario_round_trips_through_k8s_openapi_and_keeps_the_policies() -> anyhow::Result<()> {
    for (scenario, values) in scenarios()? {
        let objects = render(&values, scenario == "monitoring")?;
        check_scenario(&scenario, &objects)?;
    }
    Ok(())
}

#[test]
fn the_role_grants_exactly_what_discovery_calls() -> anyhow::Result<()> {
    let objects = render(&chart().join("ci/default-values.yaml"), false)?;
    let role = the_one(&objects, "Role")?;
    check_rbac(&objects, "")?;
    // One verb too many, one too few, a wildcard: each is refused.
    for (rules, what) in [
        (
            serde_json::json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get"]}]),
            "watch",
        ),
        (serde_json::json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]), "no get"),
        (serde_json::json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]), "wildcard"),
    ] {
        let mut role = role.clone();
        role["rules"] = rules;
        ensure!(check_rbac(&[role], "").is_err(), "a Role with {what} passed the policy check");
    }
    Ok(())
}

/// `helm template` does not render NOTES.txt, so its source is read: every topic, every
/// mart table and every dashboard of the chart must be named in it.
#[test]
fn the_install_notes_name_every_topic_table_and_dashboard() -> anyhow::Result<()> {
    let notes = std::fs::read_to_string(chart().join("templates/NOTES.txt"))?;
    let topics = [
        "bars",
        "indicators",
        "dead-letter",
        "features",
        "predictions",
        "corporate-actions",
        "data-quality",
        "trading-days",
    ];
    for topic in topics {
        ensure!(
            notes.contains(&format!("{{{{ $prefix }}}}{topic} ")),
            "NOTES.txt does not name topic {topic}"
        );
    }
    for table in ["features", "models", "predictions"] {
        let line = format!("{{{{ .Values.cassandra.martKeyspace }}}}.{table} ");
        ensure!(notes.contains(&line), "NOTES.txt does not name table {table}");
    }
    let mut dashboards = 0;
    for entry in std::fs::read_dir(chart().join("dashboards"))? {
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(entry?.path())?)?;
        let title = dashboard["title"].as_str().context("a dashboard without a title")?;
        ensure!(notes.contains(&format!("\"{title}\"")), "NOTES.txt does not name dashboard {title}");
        dashboards += 1;
    }
    ensure!(dashboards == 3, "expected 3 dashboards, found {dashboards}");
    Ok(())
}

#[test]
fn three_gpu_replicas_render_three_processes_with_a_gpu_each() -> anyhow::Result<()> {
    let objects = render(&chart().join("ci/gpu-3-replicas-values.yaml"), false)?;
    let set = the_one(&objects, "StatefulSet")?;
    ensure!(set["spec"]["replicas"] == 3, "replicas {}", set["spec"]["replicas"]);
    ensure!(set["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia", "runtimeClassName");
    ensure!(check_gpus(&objects)?.as_deref() == Some("1"), "each analytics pod needs nvidia.com/gpu: 1");
    Ok(())
}

#[test]
fn zero_gpus_request_none_and_hide_the_devices() -> anyhow::Result<()> {
    let objects = render(&chart().join("ci/external-services-values.yaml"), false)?;
    ensure!(check_gpus(&objects)?.is_none(), "gpu.count 0 still requests a GPU");
    let set = the_one(&objects, "StatefulSet")?;
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    let hidden = env_value(container, "NVIDIA_VISIBLE_DEVICES").map(|e| e["value"].clone());
    ensure!(hidden == Some(Value::from("void")), "NVIDIA_VISIBLE_DEVICES must be void without a GPU");
    Ok(())
}

#[test]
fn credentials_come_from_the_named_secrets() -> anyhow::Result<()> {
    let objects = render(&chart().join("ci/external-services-values.yaml"), false)?;
    let wanted = [
        ("KAFKA_USERNAME", "pricestream-kafka"),
        ("KAFKA_PASSWORD", "pricestream-kafka"),
        ("CASSANDRA_USERNAME", "cassandra-superuser"),
        ("CASSANDRA_PASSWORD", "cassandra-superuser"),
    ];
    for (owner, pod, _) in pod_specs(&objects) {
        let container = &pod["containers"][0];
        for (var, secret) in wanted {
            let from = env_value(container, var).map(|e| e["valueFrom"]["secretKeyRef"]["name"].clone());
            ensure!(from == Some(Value::from(secret)), "{owner}: {var} should come from Secret {secret}");
        }
    }
    let extractor = of_kind(&objects, "Deployment").into_iter().next().context("no Deployment")?;
    let api_key = env_value(&extractor["spec"]["template"]["spec"]["containers"][0], "TWELVE_DATA_API_KEY")
        .map(|e| e["valueFrom"]["secretKeyRef"]["name"].clone());
    ensure!(
        api_key == Some(Value::from("twelve-data")),
        "TWELVE_DATA_API_KEY should come from Secret twelve-data"
    );
    Ok(())
}

#[test]
fn monitoring_objects_need_the_prometheus_operator_api() -> anyhow::Result<()> {
    let values = chart().join("ci/monitoring-values.yaml");
    let with_api = render(&values, true)?;
    ensure!(of_kind(&with_api, "ServiceMonitor").len() == 2, "one ServiceMonitor per component expected");
    the_one(&with_api, "PrometheusRule").context("the PrometheusRule")?;
    let dashboards = of_kind(&with_api, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
        .context("no ConfigMap labelled grafana_dashboard: \"1\"")?;
    let files = dashboards["data"].as_object().context("the dashboards ConfigMap has no data")?;
    ensure!(!files.is_empty(), "no dashboard in the dashboards ConfigMap");
    for (file, json) in files {
        let dashboard: Value = serde_json::from_str(json.as_str().unwrap_or_default())
            .with_context(|| format!("dashboard {file} is not JSON"))?;
        ensure!(
            dashboard["panels"].as_array().is_some_and(|p| !p.is_empty()),
            "dashboard {file} has no panels"
        );
    }
    let without_api = render(&values, false)?;
    for kind_name in ["ServiceMonitor", "PrometheusRule"] {
        ensure!(of_kind(&without_api, kind_name).is_empty(), "{kind_name} rendered without the API");
    }
    Ok(())
}

#[test]
fn a_misspelt_value_fails_naming_the_key() -> anyhow::Result<()> {
    for (yaml, key) in [
        ("analytics:\n  replicaz: 3\n", "replicaz"),
        ("extractor:\n  config:\n    follow:\n      file_poll_intervall_ms: 5\n", "file_poll_intervall_ms"),
        ("kafka:\n  auth:\n    password: inline\n", "password"),
        ("extractor:\n  resources:\n    limits:\n      nvidia.com/gpu: 1\n", "nvidia.com/gpu"),
    ] {
        let file = tempfile::Builder::new().suffix(".yaml").tempfile()?;
        std::fs::write(file.path(), yaml)?;
        let output = helm_template(&[file.path()], false)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(!output.status.success(), "helm template accepted {yaml:?}");
        ensure!(stderr.contains(key), "the error does not name `{key}`:\n{stderr}");
    }
    Ok(())
}

/// Every object in the values schema refuses unknown keys; free-form maps (labels,
/// annotations, node selectors, librdkafka properties) hold strings only.
#[test]
fn the_values_schema_is_strict_at_every_level() -> anyhow::Result<()> {
    fn walk(path: &str, schema: &Value, problems: &mut Vec<String>) {
        let Some(map) = schema.as_object() else { return };
        let additional = map.get("additionalProperties");
        if map.contains_key("properties") && additional != Some(&Value::Bool(false)) {
            problems.push(format!("{path}: additionalProperties is not false"));
        }
        if map.get("type") == Some(&Value::from("object")) && !map.contains_key("properties") {
            let typed = additional.is_some_and(|a| a["type"] == "string");
            if !typed {
                problems.push(format!("{path}: an object of any shape"));
            }
        }
        // Subschemas by keyword; `if` only tests a value, it does not describe one.
        for keyword in ["properties", "definitions", "$defs"] {
            for (name, sub) in map.get(keyword).and_then(Value::as_object).into_iter().flatten() {
                walk(&format!("{path}/{keyword}/{name}"), sub, problems);
            }
        }
        for keyword in ["items", "additionalProperties", "then", "else", "not"] {
            if let Some(sub) = map.get(keyword) {
                walk(&format!("{path}/{keyword}"), sub, problems);
            }
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for (i, sub) in map.get(keyword).and_then(Value::as_array).into_iter().flatten().enumerate() {
                walk(&format!("{path}/{keyword}/{i}"), sub, problems);
            }
        }
    }
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json"))?)?;
    let mut problems = Vec::new();
    walk("#", &schema, &mut problems);
    ensure!(problems.is_empty(), "values.schema.json is not strict:\n  {}", problems.join("\n  "));
    Ok(())
}

/// Runs `command` for at most `limit`, returning its exit status and stderr.
fn run_for(command: Command, limit: Duration) -> anyhow::Result<(Option<i32>, String)> {
    run_until(command, limit, None)
}

/// The TOML files of the chart's ConfigMap are accepted by the binaries: the extractor
/// loads its file for a dry-run backfill, the analytics service gets past loading its
/// file to connecting (to an address where nothing listens, an outage it waits out).
/// Where the chart mounts the TLS Secrets.
const TLS_MOUNTS: &str = "/etc/pricestream-tls/";

/// A CA certificate, a certificate and its key for each TLS mount (`kafka/`, `cassandra/`)
/// under `dir`, named as the chart mounts them; returns their parent folder.
fn tls_files(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = dir.join("tls");
    for service in ["kafka", "cassandra"] {
        let folder = root.join(service);
        std::fs::create_dir_all(&folder)?;
        let output = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=chart-test"])
            .args(["-keyout", "tls.key", "-out", "tls.crt"])
            .current_dir(&folder)
            .output()
            .context("running openssl")?;
        ensure!(output.status.success(), "openssl: {}", String::from_utf8_lossy(&output.stderr));
        std::fs::copy(folder.join("tls.crt"), folder.join("ca.crt"))?;
    }
    Ok(root)
}

#[test]
fn tls_secrets_are_mounted_where_the_configs_name_them() -> anyhow::Result<()> {
    let objects = render(&chart().join("ci/external-services-values.yaml"), false)?;
    let analytics = config_files(&objects)?["analytics.toml"].as_str().context("no analytics.toml")?;
    for line in [
        "[kafka.tls]\nca_file = \"/etc/pricestream-tls/kafka/ca.crt\"\ncertificate_file = \"/etc/pricestream-tls/kafka/tls.crt\"\nkey_file = \"/etc/pricestream-tls/kafka/tls.key\"\nverify_hostname = true",
        "[cassandra.tls]\nca_file = \"/etc/pricestream-tls/cassandra/ca.crt\"\nverify_hostname = false",
    ] {
        ensure!(analytics.contains(line), "analytics.toml lacks\n{line}\n---\n{analytics}");
    }
    for (owner, pod, _) in pod_specs(&objects) {
        let container = &pod["containers"][0];
        for (volume, secret, mount) in [
            ("kafka-tls", "kafka-client-tls", "/etc/pricestream-tls/kafka"),
            ("cassandra-tls", "cassandra-client-tls", "/etc/pricestream-tls/cassandra"),
        ] {
            let mounted = container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["name"] == volume && m["mountPath"] == mount && m["readOnly"] == true);
            ensure!(mounted, "{owner}: {volume} is not mounted read-only at {mount}");
            let source = pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == volume);
            let source = source.with_context(|| format!("{owner}: no volume {volume}"))?;
            ensure!(source["secret"]["secretName"] == secret, "{owner}: {volume} is not Secret {secret}");
            ensure!(source["secret"]["defaultMode"] == 0o440, "{owner}: {volume} is readable by others");
        }
        let password =
            env_value(container, "KAFKA_TLS_KEY_PASSWORD").map(|e| e["valueFrom"]["secretKeyRef"].clone());
        ensure!(
            password == Some(serde_json::json!({"name": "kafka-client-tls", "key": "key-password"})),
            "{owner}: KAFKA_TLS_KEY_PASSWORD should come from Secret kafka-client-tls"
        );
    }
    // Without a Secret nothing is mounted, and plaintext Kafka gets no TLS table.
    let objects = render(&chart().join("ci/default-values.yaml"), false)?;
    let text = serde_json::to_string(&objects)?;
    ensure!(
        !text.contains("pricestream-tls") && !text.contains("[kafka.tls]"),
        "TLS rendered without being asked for"
    );
    Ok(())
}

#[test]
fn the_rendered_config_files_are_accepted_by_the_binaries() -> anyhow::Result<()> {
    for (scenario, values) in scenarios()? {
        let objects = render(&values, false)?;
        let config = config_files(&objects)?;
        let dir = tempfile::tempdir()?;
        // The TLS Secrets' files, where the pods mount them, are made here.
        let tls = tls_files(dir.path())?;
        for file in ["extractor.toml", "analytics.toml"] {
            let text = config[file].as_str().with_context(|| format!("{file} is not rendered"))?;
            let text = text.replace(TLS_MOUNTS, &format!("{}/", tls.display()));
            std::fs::write(dir.path().join(file), text)?;
        }
        let input = tempfile::tempdir()?;

        let mut extractor = Command::new(binary("pricestream-extractor")?);
        extractor
            .arg("--config")
            .arg(dir.path().join("extractor.toml"))
            .args(["backfill", "--dry-run", "--no-progress", "--input"])
            .arg(input.path())
            .env_remove("PRICESTREAM_CONFIG");
        let (_, stderr) = run_for(extractor, Duration::from_secs(60))?;
        ensure!(
            !stderr.contains("invalid config") && stderr.contains("Backfill started"),
            "scenario {scenario}: the extractor refuses the chart's extractor.toml:\n{stderr}"
        );

        let mut analytics = Command::new(binary("pricestream-analytics")?);
        analytics
            .arg("--config")
            .arg(dir.path().join("analytics.toml"))
            .args(["run", "--exit-at-end"])
            .env_remove("PRICESTREAM_CONFIG")
            .env_remove("POD_NAME")
            .env("PRICESTREAM_HTTP_ADDR", "127.0.0.1:0")
            .env("CASSANDRA_CONTACT_POINTS", "127.0.0.1:1")
            .env("KAFKA_BROKERS", "127.0.0.1:1");
        // Nothing listens there: it waits Cassandra out, which it only does with a valid config.
        let (_, stderr) = run_until(analytics, Duration::from_secs(60), Some("Outage: cassandra"))?;
        ensure!(
            !stderr.contains("invalid config")
                && stderr.contains("Serving /metrics")
                && stderr.contains("Outage: cassandra"),
            "scenario {scenario}: the analytics service refuses the chart's analytics.toml:\n{stderr}"
        );
    }
    Ok(())
}

/// Every alert links its runbook: the `runbook_url` of each rule is the chart's source
/// repository's docs/deploy.md at the heading named after the alert, and that heading exists.
#[test]
fn every_alert_links_its_section_of_the_deploy_guide() -> anyhow::Result<()> {
    let rules: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(chart().join("rules/pricestream.rules.yaml"))?)?;
    let meta: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(chart().join("Chart.yaml"))?)?;
    let source = meta["sources"][0].as_str().context("Chart.yaml names no source")?;
    let guide = std::fs::read_to_string(repo().join("docs/deploy.md"))?;
    let headings: BTreeSet<&str> = guide.lines().filter_map(|line| line.strip_prefix("#### ")).collect();
    let mut alerts = 0;
    for group in rules["groups"].as_array().context("no rule groups")? {
        for rule in group["rules"].as_array().context("a group without rules")? {
            let Some(alert) = rule["alert"].as_str() else { continue };
            alerts += 1;
            let url = format!("{source}/blob/main/docs/deploy.md#{}", alert.to_lowercase());
            ensure!(rule["annotations"]["runbook_url"] == url.as_str(), "{alert}: runbook_url is not {url}");
            ensure!(headings.contains(alert), "docs/deploy.md has no `#### {alert}` section");
        }
    }
    ensure!(alerts >= 14, "only {alerts} alerts found");
    Ok(())
}
