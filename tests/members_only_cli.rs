//! `--members-only`: an opened zip, 7z or compressed stream reports what is inside and not its
//! own record; without it, each container has its record after its members'. A tar never has
//! one. The members' records are the same either way.

mod common;
use common::{code, jsonl, run};

use serde_json::Value;

fn records(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["hash", "-q", "--algo", "md5"];
    args.extend_from_slice(extra);
    args.extend([
        "fixtures/containers/stored.zip",
        "fixtures/containers/solid.7z",
        "fixtures/containers/c.txt.gz",
        "fixtures/containers/nested.tar",
    ]);
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = jsonl(&o.stdout);
    r.sort_by_key(|r| (r["path"].to_string(), r["member"].to_string()));
    r
}

fn own(records: &[Value]) -> Vec<&str> {
    let mut paths: Vec<&str> = records
        .iter()
        .filter(|r| r.get("member").is_none())
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    paths
}

#[test]
fn members_only_leaves_out_the_containers_own_records() {
    let all = records(&[]);
    let inside = records(&["--members-only"]);
    assert_eq!(
        own(&all),
        [
            "fixtures/containers/c.txt.gz",
            "fixtures/containers/solid.7z",
            "fixtures/containers/stored.zip"
        ]
    );
    assert!(own(&inside).is_empty(), "{:?}", own(&inside));
    let members: Vec<&Value> = all.iter().filter(|r| r.get("member").is_some()).collect();
    assert!(members.len() >= 4, "{}", members.len());
    assert_eq!(members, inside.iter().collect::<Vec<_>>());
}
