//! JSON hash lists, streamed: Project VIC VICS exports (1.x `odata.metadata`, 2.0
//! `@odata.context`; `#Media` or `#Cases`), Tech Against Terrorism TCAP hash-list pages and
//! StopNCII `FetchHashes` pages.
//!
//! A VICS export is one JSON document that can run to gigabytes, so it is never parsed
//! whole. A small pull tokenizer walks the envelope, skipping what it does not need without
//! keeping it, and only one record (a VICS Media, a TCAP result, a StopNCII hash record) at a
//! time is built in memory, within [`MAX_RECORD`] bytes; strings and nesting are bounded too.
//! A file cut in the middle gives the entries before the cut and one problem at the line
//! where the JSON stops making sense.

use std::borrow::Cow;
use std::io::{self, BufRead};

use serde_json::{Map, Value};

use super::{
    parse_hex, quote, ListEntry, ListFormat, ListProblem, ListSummary, ListType, ReadError,
};
use crate::hash::Algo;

/// Largest record kept in memory (a VICS Media may carry a base64 thumbnail).
const MAX_RECORD: usize = 16 << 20;
/// Longest key.
const MAX_KEY: usize = 4096;
/// Deepest nesting of a value built or skipped by recursion; deeper values are skipped by
/// [`Json::skip_flat`] and the record holding them reported.
const MAX_DEPTH: usize = 64;
/// Deepest nesting [`Json::skip_flat`] follows (one byte of memory per level); deeper, the
/// JSON stops being read.
const MAX_SKIP_DEPTH: usize = MAX_RECORD;

/// Which JSON list this is, from keys in its head.
pub(super) fn detect(head: &[u8]) -> Result<ListFormat, String> {
    let has = |k: &[u8]| memchr::memmem::find(head, k).is_some();
    if has(b"\"@odata.context\"") || has(b"\"odata.metadata\"") || has(b"\"MediaID\"") {
        Ok(ListFormat::Vics)
    } else if has(b"\"hashRecords\"") || has(b"\"signalType\"") {
        Ok(ListFormat::StopNcii)
    } else if has(b"\"hash_digest\"") {
        Ok(ListFormat::Tcap)
    } else {
        Err(
            "JSON that is not a VICS export, a TCAP page or a StopNCII page (no \
             @odata.context, odata.metadata, hash_digest or hashRecords key in its first \
             64 KiB)"
                .into(),
        )
    }
}

/// A tokenizer error: I/O, or the JSON stops making sense (syntax, limits, end of file).
enum JErr {
    Io(io::Error),
    Bad(String),
}

impl From<io::Error> for JErr {
    fn from(e: io::Error) -> JErr {
        JErr::Io(e)
    }
}

/// A pull tokenizer over a buffered reader that counts lines.
struct Json<'r, R: BufRead> {
    r: &'r mut R,
    line: u64,
    /// Why the record being read went over a limit (its offending value was skipped, the
    /// rest of it read on): the record is reported instead of read.
    over: Option<String>,
}

impl<R: BufRead> Json<'_, R> {
    fn peek(&mut self) -> Result<Option<u8>, JErr> {
        loop {
            match self.r.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn bump(&mut self) {
        self.r.consume(1);
    }

    /// The next byte that is not white space, not consumed.
    fn ws(&mut self) -> Result<Option<u8>, JErr> {
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if !matches!(first, b' ' | b'\t' | b'\r' | b'\n') {
                return Ok(Some(first));
            }
            let n = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(buf.len());
            self.line += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            self.r.consume(n);
        }
    }

    /// Consumes the next non-space byte, which must be `c`.
    fn expect(&mut self, c: u8, what: &str) -> Result<(), JErr> {
        match self.ws()? {
            Some(b) if b == c => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(JErr::Bad(format!("expected {what}, found {}", quote(&[b])))),
            None => Err(eof(what)),
        }
    }

    /// Reads a string (the opening quote next), keeping at most `max` bytes of it when
    /// `keep`; a longer kept string is an error.
    fn string(&mut self, max: usize, keep: bool) -> Result<Vec<u8>, JErr> {
        self.expect(b'"', "a string")?;
        let mut out = Vec::new();
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if buf.is_empty() {
                return Err(eof("the end of a string"));
            }
            let stop = memchr::memchr2(b'"', b'\\', buf);
            let n = stop.unwrap_or(buf.len());
            if keep {
                if out.len() + n > max {
                    return Err(JErr::Bad(format!("string longer than {max} bytes")));
                }
                out.extend_from_slice(&buf[..n]);
            }
            self.line += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            let Some(i) = stop else {
                self.r.consume(n);
                continue;
            };
            let quote_end = buf[i] == b'"';
            self.r.consume(i + 1);
            if quote_end {
                return Ok(out);
            }
            self.escape(&mut out, keep)?;
        }
    }

    /// Decodes the escape after a backslash.
    fn escape(&mut self, out: &mut Vec<u8>, keep: bool) -> Result<(), JErr> {
        let c = self.peek()?.ok_or_else(|| eof("an escape"))?;
        self.bump();
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut cp = self.hex4()?;
                if (0xD800..0xDC00).contains(&cp) {
                    // A high surrogate: the low one follows as another \u escape.
                    if self.peek()? == Some(b'\\') {
                        self.bump();
                        if self.peek()? == Some(b'u') {
                            self.bump();
                            let lo = self.hex4()?;
                            if (0xDC00..0xE000).contains(&lo) {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                        }
                    }
                }
                if keep {
                    let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                return Ok(());
            }
            other => {
                return Err(JErr::Bad(format!(
                    "invalid escape {} in a string",
                    quote(&[b'\\', other])
                )))
            }
        };
        if keep {
            out.push(simple);
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JErr> {
        let mut v = 0;
        for _ in 0..4 {
            let c = self.peek()?.ok_or_else(|| eof("a \\u escape"))?;
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| JErr::Bad(format!("bad \\u escape digit {}", quote(&[c]))))?;
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// A number or `true`/`false`/`null`: the bytes up to the next delimiter.
    fn scalar(&mut self) -> Result<Value, JErr> {
        let mut tok = Vec::new();
        while let Some(c) = self.peek()? {
            if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            if tok.len() >= 64 {
                return Err(JErr::Bad(format!("unexpected text {}", quote(&tok))));
            }
            tok.push(c);
            self.bump();
        }
        match tok.as_slice() {
            b"true" => Ok(Value::Bool(true)),
            b"false" => Ok(Value::Bool(false)),
            b"null" => Ok(Value::Null),
            t => std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.parse::<serde_json::Number>().ok())
                .map(Value::Number)
                .ok_or_else(|| {
                    if t.is_empty() {
                        eof("a value")
                    } else {
                        JErr::Bad(format!("unexpected text {}", quote(t)))
                    }
                }),
        }
    }

    /// Reads one value into memory, within `budget` bytes of strings.
    fn value(&mut self, budget: &mut usize, depth: usize) -> Result<Value, JErr> {
        if depth > MAX_DEPTH {
            return self.skip_over(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        // Every value costs a little besides its strings, so a record of many tiny values
        // is bounded too.
        let Some(left) = budget.checked_sub(16) else {
            return self.skip_over(format!("larger than {} MiB", MAX_RECORD >> 20));
        };
        *budget = left;
        match self.ws()? {
            Some(b'"') => {
                let Some(s) = self.string_within(*budget)? else {
                    return Ok(self.mark_over(format!("holds a string longer than {budget} bytes")));
                };
                *budget -= s.len();
                Ok(Value::String(String::from_utf8(s).unwrap_or_else(|e| {
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                })))
            }
            Some(b'{') => {
                let mut map = Map::new();
                self.object(|j, key| {
                    let Some(left) = budget.checked_sub(key.len()) else {
                        return j
                            .skip_over(format!("larger than {} MiB", MAX_RECORD >> 20))
                            .map(drop);
                    };
                    *budget = left;
                    let v = j.value(budget, depth + 1)?;
                    map.insert(key, v);
                    Ok(())
                })?;
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.array(|j| {
                    items.push(j.value(budget, depth + 1)?);
                    Ok(())
                })?;
                Ok(Value::Array(items))
            }
            Some(_) => self.scalar(),
            None => Err(eof("a value")),
        }
    }

    /// Skips one value without keeping it.
    fn skip(&mut self, depth: usize) -> Result<(), JErr> {
        if depth > MAX_DEPTH {
            return self
                .skip_over(format!("nested deeper than {MAX_DEPTH} levels"))
                .map(drop);
        }
        match self.ws()? {
            Some(b'"') => self.string(0, false).map(drop),
            Some(b'{') => self.object(|j, _| j.skip(depth + 1)),
            Some(b'[') => self.array(|j| j.skip(depth + 1)),
            Some(_) => self.scalar().map(drop),
            None => Err(eof("a value")),
        }
    }

    /// Notes that the record went over a limit (the first reason is kept) and stands in for
    /// the offending value.
    fn mark_over(&mut self, reason: String) -> Value {
        self.over.get_or_insert(reason);
        Value::Null
    }

    /// Skips the next value, which went over a limit, without recursion, and notes it.
    fn skip_over(&mut self, reason: String) -> Result<Value, JErr> {
        self.skip_flat().map_err(|e| match e {
            JErr::Bad(b) => JErr::Bad(format!("{b}, inside a value {reason}")),
            io => io,
        })?;
        Ok(self.mark_over(reason))
    }

    /// Skips one value with a loop instead of recursion, whatever its nesting (up to
    /// [`MAX_SKIP_DEPTH`] levels, one byte each), keeping none of it. Lenient: separators
    /// inside the value are not checked, brackets are.
    fn skip_flat(&mut self) -> Result<(), JErr> {
        let mut closers: Vec<u8> = Vec::new();
        loop {
            match self.ws()? {
                None => return Err(eof("the end of a value")),
                Some(b'"') => {
                    self.string(0, false)?;
                }
                Some(c @ (b'{' | b'[')) => {
                    if closers.len() >= MAX_SKIP_DEPTH {
                        return Err(JErr::Bad(format!(
                            "nested deeper than {MAX_SKIP_DEPTH} levels"
                        )));
                    }
                    self.bump();
                    closers.push(if c == b'{' { b'}' } else { b']' });
                    continue;
                }
                Some(c @ (b'}' | b']')) => {
                    if closers.pop() != Some(c) {
                        return Err(JErr::Bad(format!("unexpected {}", quote(&[c]))));
                    }
                    self.bump();
                }
                Some(c @ (b',' | b':')) => {
                    if closers.is_empty() {
                        return Err(JErr::Bad(format!("unexpected {}", quote(&[c]))));
                    }
                    self.bump();
                    continue;
                }
                Some(_) => {
                    self.scalar()?;
                }
            }
            if closers.is_empty() {
                return Ok(());
            }
        }
    }

    /// Like [`Json::string`] keeping at most `max` bytes, but a longer string is read to
    /// its end and `None` returned, so that reading goes on after it.
    fn string_within(&mut self, max: usize) -> Result<Option<Vec<u8>>, JErr> {
        self.expect(b'"', "a string")?;
        let mut out = Vec::new();
        let mut keep = true;
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if buf.is_empty() {
                return Err(eof("the end of a string"));
            }
            let stop = memchr::memchr2(b'"', b'\\', buf);
            let n = stop.unwrap_or(buf.len());
            if keep && out.len() + n > max {
                keep = false;
                out = Vec::new();
            }
            if keep {
                out.extend_from_slice(&buf[..n]);
            }
            self.line += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            let Some(i) = stop else {
                self.r.consume(n);
                continue;
            };
            let quote_end = buf[i] == b'"';
            self.r.consume(i + 1);
            if quote_end {
                return Ok(keep.then_some(out));
            }
            self.escape(&mut out, keep)?;
            if keep && out.len() > max {
                keep = false;
                out = Vec::new();
            }
        }
    }

    /// Walks an object (next is `{`): calls `f` at each key, which must consume the value.
    fn object(
        &mut self,
        mut f: impl FnMut(&mut Self, String) -> Result<(), JErr>,
    ) -> Result<(), JErr> {
        self.expect(b'{', "'{'")?;
        if self.ws()? == Some(b'}') {
            self.bump();
            return Ok(());
        }
        loop {
            let key = self.string(MAX_KEY, true)?;
            self.expect(b':', "':'")?;
            f(self, String::from_utf8_lossy(&key).into_owned())?;
            match self.ws()? {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(());
                }
                Some(c) => {
                    return Err(JErr::Bad(format!(
                        "expected ',' or '}}' in an object, found {}",
                        quote(&[c])
                    )))
                }
                None => return Err(eof("the end of an object")),
            }
        }
    }

    /// Walks an array (next is `[`): calls `f` at each item, which must consume it.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Result<(), JErr>) -> Result<(), JErr> {
        self.expect(b'[', "'['")?;
        if self.ws()? == Some(b']') {
            self.bump();
            return Ok(());
        }
        loop {
            f(self)?;
            match self.ws()? {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(());
                }
                Some(c) => {
                    return Err(JErr::Bad(format!(
                        "expected ',' or ']' in an array, found {}",
                        quote(&[c])
                    )))
                }
                None => return Err(eof("the end of an array")),
            }
        }
    }
}

fn eof(what: &str) -> JErr {
    JErr::Bad(format!("the file ends where {what} should be (truncated?)"))
}

/// What the records of a JSON list turn into, and counts for the notes.
struct Records<'a, E, P> {
    format: ListFormat,
    declared: Option<ListType>,
    on_entry: &'a mut E,
    on_problem: &'a mut P,
    notes: Vec<String>,
    records: u64,
    withdrawn: u64,
    /// Whether the record array was met.
    found: bool,
}

impl<E: FnMut(ListEntry<'_>), P: FnMut(ListProblem)> Records<'_, E, P> {
    fn problem(&mut self, line: u64, reason: String) {
        (self.on_problem)(ListProblem { line, reason });
    }

    fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// Parses and emits one hash. With `filter`, a hash of another type than the declared
    /// one is left out (a VICS record carries several); without, it is a problem.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        line: u64,
        stated: ListType,
        field: &str,
        hex: &str,
        name: Option<&[u8]>,
        label: Option<&str>,
        filter: bool,
    ) -> bool {
        if filter && self.declared.is_some_and(|d| d != stated) {
            return false;
        }
        match parse_hex(hex.trim().as_bytes(), Some(stated), self.declared) {
            Ok(hash) => {
                (self.on_entry)(
                    ListEntry::new(hash, line)
                        .with_name(name.map(Cow::Borrowed))
                        .with_label(label.map(Cow::Borrowed)),
                );
                true
            }
            Err(reason) => {
                self.problem(line, format!("{field}: {reason}"));
                false
            }
        }
    }

    /// One record of the list's record array.
    fn record(&mut self, line: u64, v: &Value) {
        self.records += 1;
        let Some(obj) = v.as_object() else {
            self.problem(line, "record is not a JSON object".into());
            return;
        };
        match self.format {
            ListFormat::Vics => match obj.get("Media").and_then(Value::as_array) {
                // A Case read whole (a #Media file holding cases, or no context yet).
                Some(media) => {
                    for m in media {
                        self.vics_media(line, m);
                    }
                }
                None => self.vics_media(line, v),
            },
            ListFormat::Tcap => self.tcap(line, obj),
            _ => self.stopncii(line, obj),
        }
    }

    fn vics_media(&mut self, line: u64, v: &Value) {
        let Some(obj) = v.as_object() else {
            self.problem(line, "Media record is not a JSON object".into());
            return;
        };
        let label = match obj.get("Category") {
            Some(Value::Number(n)) => Some(format!("category {n}")),
            Some(Value::String(s)) if !s.trim().is_empty() => {
                Some(format!("category {}", s.trim()))
            }
            _ => None,
        };
        let name = obj
            .get("MediaFiles")
            .and_then(Value::as_array)
            .and_then(|files| {
                files
                    .iter()
                    .find_map(|f| f.get("FileName").and_then(Value::as_str))
            })
            .filter(|n| !n.is_empty());
        let (mut present, mut emitted) = (false, 0);
        for (key, algo) in [
            ("MD5", Algo::Md5),
            ("SHA1", Algo::Sha1),
            ("SHA256", Algo::Sha256),
        ] {
            match obj.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    present = true;
                    emitted += usize::from(self.emit(
                        line,
                        ListType::Exact(algo),
                        key,
                        s,
                        name.map(str::as_bytes),
                        label.as_deref(),
                        true,
                    ));
                }
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(other) => self.problem(line, format!("{key} is not a string: {other}")),
            }
        }
        for alt in obj
            .get("AlternativeHashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let hash_name = alt.get("HashName").and_then(Value::as_str).unwrap_or("");
            let Some(value) = alt.get("HashValue").and_then(Value::as_str) else {
                continue;
            };
            let stated = match hash_name.to_ascii_uppercase().as_str() {
                "MD5" => ListType::Exact(Algo::Md5),
                "SHA1" | "SHA-1" => ListType::Exact(Algo::Sha1),
                "SHA256" | "SHA-256" => ListType::Exact(Algo::Sha256),
                "PDQ" => ListType::Pdq,
                _ => {
                    self.note(format!(
                        "VICS AlternativeHashes {hash_name:?} skipped: vigie does not match it"
                    ));
                    continue;
                }
            };
            present = true;
            emitted += usize::from(self.emit(
                line,
                stated,
                "AlternativeHashes",
                value,
                name.map(str::as_bytes),
                label.as_deref(),
                true,
            ));
        }
        if obj.get("PhotoDNA").is_some_and(|p| !p.is_null()) {
            self.note("VICS PhotoDNA values skipped: PhotoDNA is proprietary".into());
        }
        if !present {
            self.problem(
                line,
                "Media record without an MD5, SHA1, SHA256 or PDQ hash".into(),
            );
        } else if emitted == 0 {
            if let Some(d) = self.declared {
                self.problem(line, format!("Media record without a {d} hash (declared)"));
            }
        }
    }

    fn tcap(&mut self, line: u64, obj: &Map<String, Value>) {
        if obj.get("deleted").and_then(Value::as_bool) == Some(true) {
            self.withdrawn += 1;
            return;
        }
        let algorithm = obj.get("algorithm").and_then(Value::as_str).unwrap_or("");
        let Some(hex) = obj.get("hash_digest").and_then(Value::as_str) else {
            self.problem(line, "TCAP record without a hash_digest string".into());
            return;
        };
        let stated = match algorithm.to_ascii_uppercase().as_str() {
            "MD5" => ListType::Exact(Algo::Md5),
            "SHA1" | "SHA-1" => ListType::Exact(Algo::Sha1),
            "SHA256" | "SHA-256" => ListType::Exact(Algo::Sha256),
            "PDQ" => ListType::Pdq,
            other => {
                self.problem(
                    line,
                    format!(
                        "algorithm {other:?} is not one vigie matches (MD5, SHA1, SHA256, PDQ)"
                    ),
                );
                return;
            }
        };
        let label = obj
            .get("ideology")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        self.emit(line, stated, "hash_digest", hex, None, label, false);
    }

    fn stopncii(&mut self, line: u64, obj: &Map<String, Value>) {
        // python-threatexchange turns each record into its enums first and skips (logs) a
        // record holding a value it does not know: so does vigie, as a problem of that
        // record, and the rest of the page is read.
        let status = obj.get("hashStatus").and_then(Value::as_str);
        if let Some(s) = status.filter(|s| !STOPNCII_STATUSES.contains(s)) {
            self.problem(
                line,
                format!(
                    "hashStatus {s:?} is not one python-threatexchange knows ({}): record \
                     skipped, as python-threatexchange skips it",
                    STOPNCII_STATUSES.join(", ")
                ),
            );
            return;
        }
        let feedbacks = obj.get("CSPFeedbacks").and_then(Value::as_array);
        for fb in feedbacks.into_iter().flatten() {
            let value = fb.get("feedbackValue").and_then(Value::as_str);
            if let Some(v) = value.filter(|v| !STOPNCII_FEEDBACKS.contains(v)) {
                self.problem(
                    line,
                    format!(
                        "CSPFeedbacks feedbackValue {v:?} is not one python-threatexchange \
                         knows ({}): record skipped, as python-threatexchange skips it",
                        STOPNCII_FEEDBACKS.join(", ")
                    ),
                );
                return;
            }
        }
        if let Some(s @ ("Withdrawn" | "Deleted")) = status {
            let _ = s;
            self.withdrawn += 1;
            return;
        }
        let kind = obj.get("signalType").and_then(Value::as_str).unwrap_or("");
        let stated = match kind {
            "ImagePDQ" => ListType::Pdq,
            "VideoMD5" => ListType::Exact(Algo::Md5),
            other => {
                self.problem(
                    line,
                    format!("signalType {other:?} is not one vigie matches (ImagePDQ, VideoMD5)"),
                );
                return;
            }
        };
        let Some(hex) = obj.get("hashValue").and_then(Value::as_str) else {
            self.problem(line, "StopNCII record without a hashValue string".into());
            return;
        };
        // The platforms' feedback tags, each once, are the label.
        let mut tags: Vec<&str> = Vec::new();
        for fb in obj
            .get("CSPFeedbacks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for t in fb
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !t.is_empty() && !tags.contains(&t) {
                    tags.push(t);
                }
            }
        }
        let label = (!tags.is_empty()).then(|| tags.join(" "));
        self.emit(
            line,
            stated,
            "hashValue",
            hex,
            None,
            label.as_deref(),
            false,
        );
    }
}

/// StopNCII's `hashStatus` values (python-threatexchange's `StopNCIICaseStatus`).
const STOPNCII_STATUSES: [&str; 5] = ["Unknown", "Received", "Active", "Withdrawn", "Deleted"];

/// StopNCII's `CSPFeedbacks[].feedbackValue` values (python-threatexchange's
/// `StopNCIICSPFeedbackValue`).
const STOPNCII_FEEDBACKS: [&str; 8] = [
    "Unknown",
    "None",
    "QualityUnknown",
    "PendingReview",
    "Blocked",
    "NotBlocked",
    "Withdrawn",
    "Deleted",
];

/// The key holding the record array of each format.
fn records_key(format: ListFormat) -> &'static str {
    match format {
        ListFormat::Vics => "value",
        ListFormat::Tcap => "results",
        _ => "hashRecords",
    }
}

/// Streams a JSON list.
pub(super) fn read<R: BufRead>(
    r: &mut R,
    declared: Option<ListType>,
    summary: &mut ListSummary,
    on_entry: &mut impl FnMut(ListEntry<'_>),
    on_problem: &mut impl FnMut(ListProblem),
) -> Result<(), ReadError> {
    // A UTF-8 byte order mark (Windows tools write one) is not part of the JSON.
    if r.fill_buf()
        .map_err(ReadError::Io)?
        .starts_with(b"\xEF\xBB\xBF")
    {
        r.consume(3);
    }
    let mut j = Json {
        r,
        line: 1,
        over: None,
    };
    let mut recs = Records {
        format: summary.format,
        declared,
        on_entry,
        on_problem,
        notes: Vec::new(),
        records: 0,
        withdrawn: 0,
        found: false,
    };
    let result = match j.ws() {
        Ok(Some(b'{')) => envelope(&mut j, &mut recs),
        // A bare array of records.
        Ok(Some(b'[')) => record_array(&mut j, &mut recs, false),
        Ok(_) => {
            return Err(ReadError::Format(format!(
                "a {} list is a JSON object or array",
                summary.format
            )))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) if !recs.found => {
            return Err(ReadError::Format(format!(
                "no {:?} array of records: not a {} list",
                records_key(summary.format),
                summary.format
            )))
        }
        Ok(()) => {}
        Err(JErr::Io(e)) => return Err(ReadError::Io(e)),
        Err(JErr::Bad(reason)) => {
            recs.problem(j.line, format!("JSON: {reason}; reading stopped here"))
        }
    }
    if recs.withdrawn > 0 {
        let what = if summary.format == ListFormat::Tcap {
            "deleted (tombstone)"
        } else {
            "withdrawn or deleted"
        };
        recs.note(format!("{} {what} records skipped", recs.withdrawn));
    }
    summary.lines = recs.records;
    summary.notes = recs.notes;
    Ok(())
}

/// The top-level object: finds the record array, skips the rest.
fn envelope<R: BufRead, E, P>(j: &mut Json<'_, R>, recs: &mut Records<'_, E, P>) -> Result<(), JErr>
where
    E: FnMut(ListEntry<'_>),
    P: FnMut(ListProblem),
{
    let key_of_records = records_key(recs.format);
    let mut cases = false;
    j.object(|j, key| {
        if recs.format == ListFormat::Vics && (key == "odata.metadata" || key == "@odata.context") {
            let mut budget = MAX_KEY;
            if let Value::String(ctx) = j.value(&mut budget, 0)? {
                cases = ctx.ends_with("#Cases");
                recs.note(format!("VICS context {ctx}"));
            }
            Ok(())
        } else if key == key_of_records && j.ws()? == Some(b'[') {
            record_array(j, recs, cases)
        } else {
            j.skip(0)
        }
    })
}

/// The record array (next is `[`). In a VICS `#Cases` file each item is a case whose
/// `Media` array holds the records; the case itself is streamed, not kept.
fn record_array<R: BufRead, E, P>(
    j: &mut Json<'_, R>,
    recs: &mut Records<'_, E, P>,
    cases: bool,
) -> Result<(), JErr>
where
    E: FnMut(ListEntry<'_>),
    P: FnMut(ListProblem),
{
    recs.found = true;
    j.array(|j| {
        if cases && j.ws()? == Some(b'{') {
            return j.object(|j, key| {
                if key == "Media" && j.ws()? == Some(b'[') {
                    record_array(j, recs, false)
                } else {
                    j.skip(1)
                }
            });
        }
        let next = j.ws()?;
        let line = j.line;
        let mut budget = MAX_RECORD;
        j.over = None;
        let v = if next == Some(b'{') {
            // Only the fields a record's hashes and label come from are kept; the rest
            // (comments, dates, thumbnails...) is skipped without being built.
            let wanted = wanted_fields(recs.format);
            let mut map = Map::new();
            j.object(|j, key| {
                if wanted.contains(&key.as_str()) {
                    let v = j.value(&mut budget, 1)?;
                    map.insert(key, v);
                    Ok(())
                } else {
                    j.skip(1)
                }
            })?;
            Value::Object(map)
        } else {
            j.value(&mut budget, 0)?
        };
        match j.over.take() {
            // The record was read to its end past what went over a limit: reported, and
            // reading goes on with the next record.
            Some(reason) => {
                recs.records += 1;
                let n = recs.records;
                recs.problem(line, format!("record {n} {reason}: skipped"));
            }
            None => recs.record(line, &v),
        }
        Ok(())
    })
}

/// The fields of a record that [`Records::record`] reads.
fn wanted_fields(format: ListFormat) -> &'static [&'static str] {
    match format {
        ListFormat::Vics => &[
            "MD5",
            "SHA1",
            "SHA256",
            "Category",
            "MediaFiles",
            "AlternativeHashes",
            "PhotoDNA",
            "Media",
        ],
        ListFormat::Tcap => &["hash_digest", "algorithm", "ideology", "deleted"],
        _ => &["signalType", "hashValue", "hashStatus", "CSPFeedbacks"],
    }
}
