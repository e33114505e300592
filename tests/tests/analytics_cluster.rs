//! Scale-out: two processes with two workers each, connected as one timely cluster
//! over loopback, produce exactly the mart, the predictions and the stored model versions
//! (every cell) of one process with one worker.

use pricestream_tests::{Lake, analytics_config, analytics_to_end, binary, cassandra, free_port, snapshot};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn two_processes_of_two_workers_build_the_single_worker_mart() -> anyhow::Result<()> {
    let lake = Lake::generate(12, 300, None)?;
    lake.backfill()?;
    let (ns, dir) = (&lake.ns, &lake.dir);

    let single = ns.own_mart("single");
    analytics_to_end(1, &single)?;

    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        format!("# two processes\n127.0.0.1:{}\n127.0.0.1:{}\n", free_port()?, free_port()?),
    )?;
    let hosts_arg = hosts.to_str().unwrap_or_default();
    // The model settings of the single process's run (analytics_to_end).
    let config = analytics_config(dir.path(), "analytics.toml", "")?;
    let config_arg = config.to_str().unwrap_or_default();
    let mut processes = Vec::new();
    for process in ["0", "1"] {
        let log = dir.path().join(format!("process-{process}.log"));
        processes.push((
            Command::new(binary("pricestream-analytics")?)
                .args(["--config", config_arg, "run", "--workers", "2", "--process", process])
                .args(["--hosts", hosts_arg, "--exit-at-end"])
                .envs(ns.env())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()?,
            log,
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    for (child, log) in &mut processes {
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                child.kill()?;
                anyhow::bail!("cluster process did not finish; log:\n{}", std::fs::read_to_string(log)?);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "cluster process failed ({status}):\n{}", std::fs::read_to_string(log)?);
    }

    let session = cassandra::session().await?;
    let got = snapshot::mart(&session, &ns.mart_keyspace).await?;
    let want = snapshot::mart(&session, &single.mart_keyspace).await?;
    assert_eq!(want.len(), 12 * 300);
    let differences = snapshot::differences(&got, &want, 5);
    assert!(differences.is_empty(), "{} rows, want {}:\n{}", got.len(), want.len(), differences.join("\n"));
    let (differences, models, predictions) =
        snapshot::model_differences(&session, &ns.mart_keyspace, &single.mart_keyspace).await?;
    assert!(
        models >= 12 && predictions >= 12,
        "the single process: {models} models, {predictions} predictions"
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace, &single.mart_keyspace]).await;
    Ok(())
}
