//! What vigie says: per-item records (JSONL, CSV, md5sum-style lists, hashdeep, and the
//! exchange formats of [`exchange`]: VICS, ThreatExchange CSV, NSRL), the run summary, and the
//! progress display.
//!
//! The wire structs of the JSON schema live in [`wire`]; the writers here own the output
//! stream. Exactly one thread writes, so a record is never split.

pub mod exchange;
pub mod output;
pub mod sorted;
pub mod summary;
pub mod wire;

use std::io::{self, Write};
use std::str::FromStr;

use crate::hash::{Algo, AlgoSet};
use crate::model::ItemResult;

pub use output::Output;
pub use summary::{utc, Custody, IndexCustody, ListCustody, Summary, Tally};

/// Output formats of `vigie hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HashFormat {
    /// One JSON object per item.
    #[value(alias = "json")]
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// `md5sum` lines.
    Md5sum,
    /// `sha1sum` lines.
    Sha1sum,
    /// `sha256sum` lines.
    Sha256sum,
    /// A `HASHDEEP-1.0` file that `hashdeep -k` reads.
    Hashdeep,
    /// ThreatExchange signal lines, `pdq <hex>` per image and, with `--algo vpdq`,
    /// `vpdq ["pdq_hex,quality,timestamp", ...]` per video (python-threatexchange's file
    /// format): a list built from a folder of images and videos.
    Te,
    /// ThreatExchange dataset CSV (`signal_type,signal_str,collab,category,tags`): `pdq`
    /// rows for images, `vpdq` rows for videos with `--algo vpdq`, `video_md5`/`video_sha256`
    /// rows when those are computed.
    TeCsv,
    /// Project VIC VICS 2.0 Media JSON.
    Vics,
    /// NSRL RDS 2.x `NSRLFile.txt` rows.
    Nsrl,
}

impl FromStr for HashFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "jsonl" | "json" => HashFormat::Jsonl,
            "csv" => HashFormat::Csv,
            "md5sum" => HashFormat::Md5sum,
            "sha1sum" => HashFormat::Sha1sum,
            "sha256sum" => HashFormat::Sha256sum,
            "hashdeep" => HashFormat::Hashdeep,
            "te" => HashFormat::Te,
            "te-csv" => HashFormat::TeCsv,
            "vics" => HashFormat::Vics,
            "nsrl" => HashFormat::Nsrl,
            _ => {
                return Err(format!(
                    "unknown format '{s}' (jsonl, csv, md5sum, sha1sum, sha256sum, hashdeep, \
                     te, te-csv, vics, nsrl)"
                ))
            }
        })
    }
}

impl HashFormat {
    /// The algorithms this format needs when `--algo` is not given, and checks those given.
    ///
    /// # Errors
    /// When `given` cannot be written in this format (e.g. `--format md5sum --algo sha256`).
    pub fn algos(self, given: Option<AlgoSet>) -> Result<AlgoSet, String> {
        let single = |a: Algo| match given {
            None => Ok([a].into_iter().collect()),
            Some(g) if g.contains(a) => Ok(g),
            Some(_) => Err(format!(
                "--format {} needs --algo to include {a}",
                self.name()
            )),
        };
        match self {
            HashFormat::Jsonl | HashFormat::Csv => Ok(given.unwrap_or_else(AlgoSet::list_default)),
            // Perceptual only: exact algorithms are computed only when asked for.
            HashFormat::Te | HashFormat::TeCsv => Ok(given.unwrap_or(AlgoSet::EMPTY)),
            HashFormat::Vics | HashFormat::Nsrl => {
                let needed: &[Algo] = if self == HashFormat::Vics {
                    &[Algo::Md5]
                } else {
                    &[Algo::Sha1, Algo::Md5]
                };
                let set = given.unwrap_or_else(|| [Algo::Md5, Algo::Sha1].into_iter().collect());
                if let Some(a) = needed.iter().find(|&&a| !set.contains(a)) {
                    return Err(format!(
                        "--format {} needs --algo to include {a}",
                        self.name()
                    ));
                }
                Ok(set)
            }
            HashFormat::Md5sum => single(Algo::Md5),
            HashFormat::Sha1sum => single(Algo::Sha1),
            HashFormat::Sha256sum => single(Algo::Sha256),
            HashFormat::Hashdeep => {
                let set = given.unwrap_or_else(|| [Algo::Md5, Algo::Sha256].into_iter().collect());
                if set.contains(Algo::Xxh3_128) {
                    return Err(
                        "hashdeep files cannot hold xxh3_128: use --algo with md5, sha1, sha256"
                            .into(),
                    );
                }
                Ok(set)
            }
        }
    }

    /// The format's name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            HashFormat::Jsonl => "jsonl",
            HashFormat::Csv => "csv",
            HashFormat::Md5sum => "md5sum",
            HashFormat::Sha1sum => "sha1sum",
            HashFormat::Sha256sum => "sha256sum",
            HashFormat::Hashdeep => "hashdeep",
            HashFormat::Te => "te",
            HashFormat::TeCsv => "te-csv",
            HashFormat::Vics => "vics",
            HashFormat::Nsrl => "nsrl",
        }
    }
}

/// Output formats of `vigie scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// One JSON object per hit (and per item with `--all`).
    #[value(alias = "json")]
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl FromStr for ScanFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" | "json" => Ok(ScanFormat::Jsonl),
            "csv" => Ok(ScanFormat::Csv),
            _ => Err(format!("unknown format '{s}' (jsonl, csv)")),
        }
    }
}

/// Writes `vigie hash` records.
pub struct HashWriter<W: Write> {
    out: W,
    format: HashFormat,
    algos: AlgoSet,
    perceptual: bool,
    /// Records written (the VICS MediaID, and its separators).
    records: u64,
}

impl<W: Write> HashWriter<W> {
    /// A writer; writes the header of formats that have one (CSV, hashdeep).
    ///
    /// # Errors
    /// I/O errors writing the header.
    pub fn new(
        mut out: W,
        format: HashFormat,
        algos: AlgoSet,
        perceptual: bool,
        invocation: &str,
    ) -> io::Result<Self> {
        match format {
            HashFormat::Csv => {
                let mut header: Vec<&str> = vec![
                    "path",
                    "path_bytes",
                    "member",
                    "member_bytes",
                    "offset",
                    "size",
                ];
                header.extend(algos.iter().map(Algo::name));
                if perceptual {
                    header.extend(["pdq", "pdq_quality", "phash", "dhash"]);
                }
                header.extend(["error_kind", "error"]);
                out.write_all(&csv_line(&header)?)?;
            }
            HashFormat::Hashdeep => {
                let cols: Vec<&str> = algos.iter().map(Algo::name).collect();
                let cwd = std::env::current_dir()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                write!(out, "%%%% HASHDEEP-1.0\n%%%% size,{},filename\n## Invoked from: {cwd}\n## $ {invocation}\n## \n", cols.join(","))?;
            }
            HashFormat::TeCsv => out.write_all(exchange::TE_CSV_HEADER)?,
            HashFormat::Vics => out.write_all(&exchange::vics_head())?,
            HashFormat::Nsrl => out.write_all(exchange::NSRL_HEADER)?,
            _ => {}
        }
        Ok(HashWriter {
            out,
            format,
            algos,
            perceptual,
            records: 0,
        })
    }

    /// Writes one item. Failed items cannot be written in list formats (md5sum, hashdeep): the
    /// caller reports them on stderr; here they are skipped for those formats.
    ///
    /// # Errors
    /// I/O errors.
    pub fn item(&mut self, r: &ItemResult) -> io::Result<()> {
        match self.format {
            HashFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, &wire::HashRecord::new(r))?;
                self.out.write_all(b"\n")
            }
            HashFormat::Csv => self.out.write_all(&csv_line(&wire::csv_hash_row(
                r,
                self.algos,
                self.perceptual,
            ))?),
            HashFormat::Md5sum | HashFormat::Sha1sum | HashFormat::Sha256sum => {
                let algo = match self.format {
                    HashFormat::Md5sum => Algo::Md5,
                    HashFormat::Sha1sum => Algo::Sha1,
                    _ => Algo::Sha256,
                };
                let Ok(d) = &r.outcome else { return Ok(()) };
                let Some(digest) = d.get(algo) else {
                    return Ok(());
                };
                self.out
                    .write_all(&coreutils_line(&digest.to_hex(), &r.loc.display_bytes()))
            }
            HashFormat::Hashdeep => {
                let Ok(d) = &r.outcome else { return Ok(()) };
                let mut line = r.loc.size.to_string().into_bytes();
                for a in self.algos.iter() {
                    line.push(b',');
                    if let Some(x) = d.get(a) {
                        line.extend_from_slice(x.to_hex().as_bytes());
                    }
                }
                line.push(b',');
                line.extend_from_slice(&r.loc.display_bytes());
                line.push(b'\n');
                self.out.write_all(&line)
            }
            HashFormat::Te => {
                if let Some(h) = r.image.as_ref().and_then(|i| i.pdq) {
                    if !r.low_quality {
                        writeln!(self.out, "pdq {h}")?;
                    }
                }
                match exchange::vpdq_signal_of(r) {
                    Some(v) => writeln!(self.out, "vpdq {v}"),
                    None => Ok(()),
                }
            }
            HashFormat::TeCsv => self.out.write_all(&exchange::te_csv_rows(r)),
            HashFormat::Vics => {
                let Some(media) = exchange::vics_media(r, self.records + 1) else {
                    return Ok(());
                };
                self.out
                    .write_all(if self.records == 0 { b"\n" } else { b",\n" })?;
                self.records += 1;
                serde_json::to_writer(&mut self.out, &media).map_err(io::Error::other)
            }
            HashFormat::Nsrl => match exchange::nsrl_row(r) {
                Some(row) => self.out.write_all(&row),
                None => Ok(()),
            },
        }
    }

    /// The output stream.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        if self.format == HashFormat::Vics {
            self.out.write_all(exchange::VICS_TAIL)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One `md5sum`-style line, escaped the way GNU coreutils escapes names: a name holding a
/// backslash, newline or carriage return gets a leading `\` on the line and `\\`, `\n`, `\r`
/// escapes; other bytes (spaces, non-UTF-8) are written raw.
pub fn coreutils_line(hex: &str, name: &[u8]) -> Vec<u8> {
    let needs_escape = name.iter().any(|&b| b == b'\\' || b == b'\n' || b == b'\r');
    let mut line = Vec::with_capacity(hex.len() + name.len() + 4);
    if needs_escape {
        line.push(b'\\');
    }
    line.extend_from_slice(hex.as_bytes());
    line.extend_from_slice(b"  ");
    for &b in name {
        match b {
            b'\\' if needs_escape => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// One CSV record (RFC 4180 quoting), newline-terminated.
fn csv_line<S: AsRef<[u8]>>(fields: &[S]) -> io::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(fields).map_err(io::Error::other)?;
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// Writes `vigie scan` records: one per hit, and with `all` one per clean or failed item.
pub struct ScanWriter<W: Write> {
    out: W,
    format: ScanFormat,
    all: bool,
}

impl<W: Write> ScanWriter<W> {
    /// A writer; writes the CSV header when the format is CSV.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut out: W, format: ScanFormat, all: bool) -> io::Result<Self> {
        if format == ScanFormat::Csv {
            out.write_all(&csv_line(&wire::SCAN_CSV_HEADER)?)?;
        }
        Ok(ScanWriter { out, format, all })
    }

    /// Writes the records of one item.
    ///
    /// # Errors
    /// I/O errors.
    pub fn item(&mut self, r: &ItemResult) -> io::Result<()> {
        let records = wire::ScanRecord::for_item(r, self.all);
        for rec in &records {
            match self.format {
                ScanFormat::Jsonl => {
                    serde_json::to_writer(&mut self.out, rec)?;
                    self.out.write_all(b"\n")?;
                }
                ScanFormat::Csv => self.out.write_all(&csv_line(&rec.csv_row())?)?,
            }
        }
        Ok(())
    }

    /// The output stream.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coreutils_escaping_matches_sha256sum() {
        let h = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
        // Lines as written by sha256sum 9.1 (shared/formats/samples/coreutils/SHA256SUMS.escaped-names).
        assert_eq!(
            coreutils_line(h, b"hello.txt"),
            format!("{h}  hello.txt\n").into_bytes()
        );
        assert_eq!(
            coreutils_line(h, b"back\\slash.txt"),
            format!("\\{h}  back\\\\slash.txt\n").into_bytes()
        );
        assert_eq!(
            coreutils_line(h, b"new\nline.txt"),
            format!("\\{h}  new\\nline.txt\n").into_bytes()
        );
        assert_eq!(
            coreutils_line(h, b"carriage\rreturn.txt"),
            format!("\\{h}  carriage\\rreturn.txt\n").into_bytes()
        );
        assert_eq!(
            coreutils_line(h, b"caf\xe9 x"),
            [format!("{h}  caf").as_bytes(), b"\xe9 x\n"].concat()
        );
    }

    #[test]
    fn format_algos() {
        assert_eq!(
            HashFormat::Md5sum
                .algos(None)
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Algo::Md5]
        );
        assert!(HashFormat::Md5sum
            .algos(Some("sha256".parse().unwrap()))
            .is_err());
        assert!(HashFormat::Hashdeep
            .algos(Some("all".parse().unwrap()))
            .is_err());
        let names = |f: HashFormat, given: Option<&str>| {
            f.algos(given.map(|g| g.parse().unwrap()))
                .map(|s| s.iter().map(Algo::name).collect::<Vec<_>>())
        };
        assert_eq!(names(HashFormat::Vics, None).unwrap(), ["md5", "sha1"]);
        assert!(names(HashFormat::Vics, Some("sha1")).is_err());
        assert!(names(HashFormat::Nsrl, Some("md5,sha256")).is_err());
        assert_eq!(names(HashFormat::TeCsv, None).unwrap(), Vec::<&str>::new());
    }

    /// An item hashed with every algorithm, named `name` inside `tar`.
    fn item(name: &[u8]) -> ItemResult {
        let mut loc = crate::model::Location::file("dump/a.tar".into(), 12);
        loc.member = Some(name.to_vec());
        ItemResult {
            loc,
            outcome: Ok(crate::hash::hash_bytes(
                "all".parse().unwrap(),
                b"hello world\n",
            )),
            image: None,
            image_error: None,
            video: None,
            low_quality: false,
            hits: Vec::new(),
        }
    }

    #[test]
    fn nsrl_rows_quote_names_and_keep_bytes() {
        let row = exchange::nsrl_row(&item(b"dir/say \"hi\"\n caf\xe9.txt")).unwrap();
        assert_eq!(
            row,
            [
                &b"\"22596363B3DE40B06F981FB85D82312E8C0ED511\",\"6F5902AC237024BDD0C176CB93063DC4\",\"\",\"say \"\"hi\"\"? caf"[..],
                b"\xe9.txt\",12,0,\"\",\"\"\r\n",
            ]
            .concat()
        );
    }

    #[test]
    fn vics_media_fields_in_export_order() {
        let m = exchange::vics_media(&item(b"x/y.jpg"), 7).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            text.starts_with(
                "{\"MediaID\":7,\"Category\":null,\"MD5\":\"6F5902AC237024BDD0C176CB93063DC4\",\
                 \"SHA1\":\"22596363B3DE40B06F981FB85D82312E8C0ED511\",\"MediaSize\":12,\
                 \"AlternativeHashes\":[{\"HashName\":\"SHA256\",\"HashValue\":\"A948904F"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "\"MediaFiles\":[{\"MD5\":\"6F5902AC237024BDD0C176CB93063DC4\",\
                 \"FileName\":\"y.jpg\",\"FilePath\":\"dump/a.tar/x/y.jpg\"}]}"
            ),
            "{text}"
        );
    }
}
