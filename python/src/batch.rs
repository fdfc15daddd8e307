//! Scan results as Arrow columns: one row per item, in types Spark's `mapInArrow` accepts.
//!
//! Spark refuses unsigned integers and `FixedSizeBinary` (measured on PySpark 4.3), so sizes and
//! offsets are `int64` and hashes lower-case hex `string`s, exactly as the command line's JSON
//! records print them: every string value comes from the records' own encoders
//! ([`HashRecord`]), so a row and the CLI's records of the same item hold the same bytes. An
//! item's hits stay in its row as a `list<struct>` whose fields carry the CLI's per-hit names;
//! a clean or failed item has an empty list. Every field is nullable (Spark's declared schemas
//! are), and a value that was not computed is null.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    ArrayBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use vigie::model::{Hit, ItemResult};
use vigie::report::wire::HashRecord;

/// The columns of a result row, in order, with their Arrow types (all nullable).
const COLUMNS: [(&str, Col); 21] = [
    ("verdict", Col::Str),
    ("path", Col::Str),
    ("path_bytes", Col::Str),
    ("member", Col::Str),
    ("member_bytes", Col::Str),
    ("offset", Col::I64),
    ("size", Col::I64),
    ("md5", Col::Str),
    ("sha1", Col::Str),
    ("sha256", Col::Str),
    ("xxh3_128", Col::Str),
    ("pdq", Col::Str),
    ("pdq_quality", Col::I32),
    ("pdq_dihedral", Col::StrList),
    ("phash", Col::Str),
    ("dhash", Col::Str),
    ("hits", Col::Hits),
    ("error_kind", Col::Str),
    ("error", Col::Str),
    ("low_quality", Col::Bool),
    ("decode_scale", Col::I32),
];

/// The fields of one hit, named as in the CLI's `scan` records.
const HIT_FIELDS: [(&str, Col); 13] = [
    ("algorithm", Col::Str),
    ("hash", Col::Str),
    ("list", Col::Str),
    ("label", Col::Str),
    ("distance", Col::I32),
    ("matched_hash", Col::Str),
    ("role", Col::Str),
    ("fpr", Col::F64),
    ("matched_video", Col::Str),
    ("query_match_pct", Col::F64),
    ("compared_match_pct", Col::F64),
    ("segments", Col::Segments),
    ("timestamp", Col::F64),
];

#[derive(Clone, Copy)]
enum Col {
    Str,
    I64,
    I32,
    F64,
    Bool,
    StrList,
    /// A video hit's time ranges: `[[start_s, end_s], ...]`.
    Segments,
    Hits,
}

fn hit_fields() -> Fields {
    HIT_FIELDS
        .iter()
        .map(|&(name, c)| Field::new(name, c.data_type(), true))
        .collect()
}

impl Col {
    fn data_type(self) -> DataType {
        match self {
            Col::Str => DataType::Utf8,
            Col::I64 => DataType::Int64,
            Col::I32 => DataType::Int32,
            Col::F64 => DataType::Float64,
            Col::Bool => DataType::Boolean,
            Col::StrList => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            Col::Segments => DataType::List(Arc::new(Field::new_list_field(
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
                true,
            ))),
            Col::Hits => DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(hit_fields()),
                true,
            ))),
        }
    }
}

/// The schema of every batch [`Rows::finish`] returns.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(
                COLUMNS
                    .iter()
                    .map(|&(name, c)| Field::new(name, c.data_type(), true))
                    .collect::<Vec<_>>(),
            ))
        })
        .clone()
}

/// Rows being built, one per [`Rows::push`]ed item.
pub struct Rows {
    verdict: StringBuilder,
    path: StringBuilder,
    path_bytes: StringBuilder,
    member: StringBuilder,
    member_bytes: StringBuilder,
    offset: Int64Builder,
    size: Int64Builder,
    md5: StringBuilder,
    sha1: StringBuilder,
    sha256: StringBuilder,
    xxh3_128: StringBuilder,
    pdq: StringBuilder,
    pdq_quality: Int32Builder,
    pdq_dihedral: ListBuilder<StringBuilder>,
    phash: StringBuilder,
    dhash: StringBuilder,
    hits: ListBuilder<StructBuilder>,
    error_kind: StringBuilder,
    error: StringBuilder,
    low_quality: arrow_array::builder::BooleanBuilder,
    decode_scale: Int32Builder,
}

impl Default for Rows {
    fn default() -> Self {
        Rows::new()
    }
}

/// A `u64` as Spark's `bigint`: sizes and offsets never reach 2^63, and if one did it would be
/// clamped rather than wrapped negative.
fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Rows {
    /// No rows yet.
    pub fn new() -> Rows {
        let hit_builders: Vec<Box<dyn ArrayBuilder>> = HIT_FIELDS
            .iter()
            .map(|&(_, c)| -> Box<dyn ArrayBuilder> {
                match c {
                    Col::I32 => Box::new(Int32Builder::new()),
                    Col::F64 => Box::new(Float64Builder::new()),
                    Col::Segments => {
                        Box::new(ListBuilder::new(ListBuilder::new(Float64Builder::new())))
                    }
                    _ => Box::new(StringBuilder::new()),
                }
            })
            .collect();
        let list_field = |c: Col| match c.data_type() {
            DataType::List(f) => f,
            _ => unreachable!("a list column"),
        };
        Rows {
            verdict: StringBuilder::new(),
            path: StringBuilder::new(),
            path_bytes: StringBuilder::new(),
            member: StringBuilder::new(),
            member_bytes: StringBuilder::new(),
            offset: Int64Builder::new(),
            size: Int64Builder::new(),
            md5: StringBuilder::new(),
            sha1: StringBuilder::new(),
            sha256: StringBuilder::new(),
            xxh3_128: StringBuilder::new(),
            pdq: StringBuilder::new(),
            pdq_quality: Int32Builder::new(),
            pdq_dihedral: ListBuilder::new(StringBuilder::new())
                .with_field(list_field(Col::StrList)),
            phash: StringBuilder::new(),
            dhash: StringBuilder::new(),
            hits: ListBuilder::new(StructBuilder::new(hit_fields(), hit_builders))
                .with_field(list_field(Col::Hits)),
            error_kind: StringBuilder::new(),
            error: StringBuilder::new(),
            low_quality: arrow_array::builder::BooleanBuilder::new(),
            decode_scale: Int32Builder::new(),
        }
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.verdict.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the row of one item.
    pub fn push(&mut self, item: &ItemResult) {
        let rec = HashRecord::new(item);
        self.verdict.append_value(item.verdict().name());
        self.path.append_value(&rec.loc.path);
        self.path_bytes.append_option(rec.loc.path_bytes.as_deref());
        self.member.append_option(rec.loc.member.as_deref());
        self.member_bytes
            .append_option(rec.loc.member_bytes.as_deref());
        self.offset.append_value(i64_of(rec.loc.offset));
        self.size.append_value(i64_of(rec.loc.size));
        self.md5.append_option(rec.md5.as_deref());
        self.sha1.append_option(rec.sha1.as_deref());
        self.sha256.append_option(rec.sha256.as_deref());
        self.xxh3_128.append_option(rec.xxh3_128.as_deref());
        self.pdq.append_option(rec.pdq.as_deref());
        self.pdq_quality
            .append_option(rec.pdq_quality.map(i32::from));
        match &rec.pdq_dihedral {
            Some(hashes) => {
                for h in hashes {
                    self.pdq_dihedral.values().append_value(h);
                }
                self.pdq_dihedral.append(true);
            }
            None => self.pdq_dihedral.append(false),
        }
        self.phash.append_option(rec.phash.as_deref());
        self.dhash.append_option(rec.dhash.as_deref());
        for hit in &item.hits {
            push_hit(self.hits.values(), hit);
        }
        self.hits.append(true);
        self.error_kind.append_option(rec.error_kind);
        self.error.append_option(rec.error.as_deref());
        self.low_quality.append_value(item.low_quality);
        self.decode_scale
            .append_option(item.image.as_ref().map(|i| i32::from(i.decode_scale)));
    }

    /// The rows as one record batch of [`schema`]; the builder is empty again after.
    ///
    /// # Errors
    /// Only if a column came out of another length or type than the schema says, which the
    /// builders rule out (checked by `RecordBatch::try_new`).
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.verdict.finish()),
            Arc::new(self.path.finish()),
            Arc::new(self.path_bytes.finish()),
            Arc::new(self.member.finish()),
            Arc::new(self.member_bytes.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.md5.finish()),
            Arc::new(self.sha1.finish()),
            Arc::new(self.sha256.finish()),
            Arc::new(self.xxh3_128.finish()),
            Arc::new(self.pdq.finish()),
            Arc::new(self.pdq_quality.finish()),
            Arc::new(self.pdq_dihedral.finish()),
            Arc::new(self.phash.finish()),
            Arc::new(self.dhash.finish()),
            Arc::new(self.hits.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.error.finish()),
            Arc::new(self.low_quality.finish()),
            Arc::new(self.decode_scale.finish()),
        ];
        RecordBatch::try_new(schema(), columns)
    }
}

/// Appends one hit to the hits' struct builder, field by field in [`HIT_FIELDS`] order.
fn push_hit(b: &mut StructBuilder, hit: &Hit) {
    fn s(b: &mut StructBuilder, i: usize) -> &mut StringBuilder {
        b.field_builder(i)
            .expect("a string field of the hit struct")
    }
    fn f(b: &mut StructBuilder, i: usize) -> &mut Float64Builder {
        b.field_builder(i).expect("a float field of the hit struct")
    }
    s(b, 0).append_value(hit.algorithm);
    // A vpdq hit has no one hash of the item (the CLI leaves `hash` out).
    s(b, 1).append_option((!hit.hash.is_empty()).then_some(hit.hash.as_str()));
    s(b, 2).append_value(&hit.list);
    s(b, 3).append_value(&hit.label);
    b.field_builder::<Int32Builder>(4)
        .expect("the distance field")
        .append_value(i32::try_from(hit.distance).unwrap_or(i32::MAX));
    s(b, 5).append_option(hit.matched_hash.as_deref());
    s(b, 6).append_value(hit.role.name());
    f(b, 7).append_option(hit.fpr);
    let video = hit.video.as_deref();
    s(b, 8).append_option(video.map(|v| v.name.as_str()));
    f(b, 9).append_option(video.map(|v| v.query_match_pct));
    f(b, 10).append_option(video.map(|v| v.compared_match_pct));
    let seg = b
        .field_builder::<ListBuilder<ListBuilder<Float64Builder>>>(11)
        .expect("the segments field");
    match video {
        Some(v) => {
            for s in &v.segments {
                seg.values().values().append_slice(s);
                seg.values().append(true);
            }
            seg.append(true);
        }
        None => seg.append_null(),
    }
    f(b, 12).append_option(hit.timestamp);
    b.append(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use arrow_array::Array;
    use std::path::PathBuf;
    use vigie::model::{FailKind, Failure, Location, Role};

    fn item(path: &[u8], member: Option<&[u8]>, hits: Vec<Hit>, fail: bool) -> ItemResult {
        use std::os::unix::ffi::OsStrExt;
        let sha = vigie::hash::hash_bytes("sha256".parse().unwrap(), b"abc");
        ItemResult {
            loc: Location {
                path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
                member: member.map(<[u8]>::to_vec),
                chain: Vec::new(),
                offset: 1 << 40,
                size: 3,
            },
            outcome: if fail {
                Err(Failure::new(FailKind::Archive, "truncated"))
            } else {
                Ok(sha)
            },
            image: None,
            image_error: None,
            video: None,
            low_quality: false,
            hits,
        }
    }

    fn hit(list: &str, fpr: Option<f64>) -> Hit {
        Hit {
            algorithm: "sha256",
            hash: "ba7816bf".into(),
            list: list.into(),
            label: "lbl".into(),
            distance: 0,
            matched_hash: None,
            role: Role::Block,
            fpr,
            video: None,
            timestamp: None,
        }
    }

    /// Every kind of row lands in its columns, with the values the CLI's records carry.
    #[test]
    fn rows_carry_the_records_values() {
        let mut rows = Rows::new();
        rows.push(&item(
            b"a.tar",
            Some(b"x\xffy"),
            vec![hit("l1", None), hit("l2", Some(1e-4))],
            false,
        ));
        rows.push(&item(b"clean", None, vec![], false));
        rows.push(&item(b"bad\xfe", None, vec![], true));
        assert_eq!(rows.len(), 3);
        let b = rows.finish().unwrap();
        assert!(rows.is_empty());
        assert_eq!(b.schema(), schema());
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        let verdict = col("verdict");
        let verdict = verdict.as_string::<i32>();
        assert_eq!(
            (0..3).map(|i| verdict.value(i)).collect::<Vec<_>>(),
            ["match", "clean", "failed"]
        );
        let member = col("member");
        assert_eq!(member.as_string::<i32>().value(0), "x\u{fffd}y");
        assert_eq!(col("member_bytes").as_string::<i32>().value(0), "eP95");
        assert!(col("member").is_null(1));
        assert_eq!(col("path_bytes").as_string::<i32>().value(2), "YmFk/g==");
        assert_eq!(col("offset").as_primitive::<Int64Type>().value(0), 1 << 40);
        assert_eq!(
            col("sha256").as_string::<i32>().value(1),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(col("sha256").is_null(2));
        assert!(col("md5").is_null(0));
        assert_eq!(col("error_kind").as_string::<i32>().value(2), "archive");
        assert_eq!(col("error").as_string::<i32>().value(2), "truncated");
        let hits = col("hits");
        let hits = hits.as_list::<i32>();
        assert_eq!(hits.value_length(0), 2);
        assert_eq!(hits.value_length(1), 0);
        assert!(!hits.is_null(1));
        let first = hits.value(0);
        let first = first.as_struct();
        assert_eq!(first.column(2).as_string::<i32>().value(1), "l2");
        assert_eq!(first.column(4).as_primitive::<Int32Type>().value(0), 0);
        assert!(first.column(7).is_null(0));
        assert_eq!(
            first
                .column(7)
                .as_primitive::<arrow_array::types::Float64Type>()
                .value(1),
            1e-4
        );
    }

    /// No unsigned integer and no fixed-size binary anywhere, nested or not: Spark refuses them.
    #[test]
    fn schema_is_spark_safe() {
        fn check(t: &DataType) {
            match t {
                DataType::Utf8 | DataType::Int64 | DataType::Int32 | DataType::Float64 => {}
                DataType::Boolean => {}
                DataType::List(f) => check(f.data_type()),
                DataType::Struct(fs) => fs.iter().for_each(|f| check(f.data_type())),
                other => panic!("{other} is not a type Spark's mapInArrow accepts"),
            }
        }
        for f in schema().fields() {
            assert!(f.is_nullable());
            check(f.data_type());
        }
    }
}
