//! The JSON Schemas in `docs/schema/` are what vigie writes: the checked-in files equal the
//! schemas generated from the record types (regenerate with `VIGIE_UPDATE_SCHEMA=1 cargo test
//! --test schema_cli`), and real records of `hash`, `scan --all`, the summary record and the
//! summary file validate against them, each carrying the schema version `v`.

mod common;
use common::{code, jsonl, run};

use std::path::{Path, PathBuf};

use serde_json::Value;
use vigie::report::wire::{schemas, SCHEMA_VERSION};

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

/// The checked-in schema `name`, compiled.
fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read(schema_dir().join(name)).unwrap();
    let schema: Value = serde_json::from_slice(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Asserts that every record is valid under `name` and carries the current version.
fn assert_valid(name: &str, records: &[Value]) {
    let v = validator(name);
    assert!(!records.is_empty(), "{name}: no record to check");
    for r in records {
        let errors: Vec<String> = v.iter_errors(r).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {r}\n{errors:?}");
        assert_eq!(r["v"], SCHEMA_VERSION, "{r}");
    }
}

#[test]
fn checked_in_schemas_are_generated_from_the_record_types() {
    let update = std::env::var_os("VIGIE_UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, schema) in schemas() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = schema_dir().join(name);
        if update {
            std::fs::create_dir_all(schema_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schema/ is not what the types generate ({stale:?}): run \
         VIGIE_UPDATE_SCHEMA=1 cargo test --test schema_cli and commit the files"
    );
}

#[test]
fn real_records_validate_against_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.vigie");
    let idx_s = idx.to_str().unwrap();
    // A PDQ list made of one image, so that its resized copy is a perceptual hit.
    let pdq_list = dir.path().join("photos.te");
    let o = run([
        "hash",
        "-q",
        "--algo",
        "pdq",
        "--format",
        "te",
        "fixtures/perceptual/shapes.png",
    ]);
    std::fs::write(&pdq_list, &o.stdout).unwrap();
    let o = run([
        "index",
        "build",
        "-q",
        "-o",
        idx_s,
        "fixtures/example/lists/known-bad.sha256",
        pdq_list.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));

    // Every kind of location and outcome the fixtures give: plain files, archive members,
    // nested members, failed items, hits and clean items.
    let inputs = [
        "fixtures/example/dump",
        "fixtures/perceptual/shapes_resized.jpg",
        "fixtures/containers/outer.zip",
        "fixtures/containers/nested.tar",
        "fixtures/containers/encrypted.zip",
        "fixtures/containers/v5.rar",
    ];
    let summary = dir.path().join("s.json");
    let mut args = vec![
        "scan",
        "-q",
        "--all",
        "--summary-record",
        "-i",
        idx_s,
        "--summary",
        summary.to_str().unwrap(),
    ];
    args.extend(inputs);
    let o = run(&args);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let mut records = jsonl(&o.stdout);
    let last = records.pop().unwrap();
    assert_eq!(last["type"], "summary");
    assert_valid("summary-record.schema.json", &[last]);
    for verdict in ["match", "clean", "failed"] {
        assert!(
            records.iter().any(|r| r["verdict"] == verdict),
            "no {verdict} record"
        );
    }
    assert!(records.iter().any(|r| r["members"].is_array()));
    assert!(records.iter().any(|r| r["algorithm"] == "pdq"));
    assert_valid("scan-record.schema.json", &records);
    let file: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert!(file["custody"]["indexes"][0]["lists"].is_array());
    assert_valid("summary.schema.json", &[file]);

    let mut args = vec!["hash", "-q", "--algo", "md5,sha256,pdq,phash,dhash"];
    args.extend(inputs);
    let o = run(&args);
    let records = jsonl(&o.stdout);
    assert!(records.iter().any(|r| r["pdq"].is_string()));
    assert!(records.iter().any(|r| r["error_kind"].is_string()));
    assert_valid("hash-record.schema.json", &records);
}

#[test]
fn a_field_the_schema_does_not_know_is_refused() {
    // The schemas are closed: a record with a field they don't describe is invalid, so the
    // validation above would catch a field added to the types and not to the files.
    let v = validator("scan-record.schema.json");
    let good = serde_json::json!({
        "v": 1, "verdict": "clean", "path": "a", "offset": 0, "size": 3,
        "hashes": {"sha256": "00"}
    });
    assert!(v.is_valid(&good), "{:?}", v.validate(&good).err());
    let mut extra = good.clone();
    extra["surprise"] = Value::from(1);
    assert!(!v.is_valid(&extra));
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("verdict");
    assert!(!v.is_valid(&missing));
}
