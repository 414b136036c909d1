//! Reading YAML with errors that name the place: every failure carries the line and column
//! (from `serde_yaml`'s marks) and the field path (from `serde_path_to_error`), and an unknown
//! field or variant gets a "did you mean" hint. A node deep inside a document can be
//! deserialized on its own ([`parse_node`]) or merely located ([`locate`]), which is how
//! errors found after deserialization are pointed back at the source.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `spec.template.containers[0].name`.
pub fn path_text(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A located YAML error, before the file name is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Splits a multi-document YAML stream at its `---` lines into (line offset, document text),
/// leaving out documents with nothing but comments. Parsing each document on its own keeps
/// loading linear in the number of documents; a `---` at column 0 is always a document
/// marker, since block scalar content is indented.
pub fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let (mut start_byte, mut start_line, mut pos) = (0usize, 0usize, 0usize);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if marker && pos > start_byte {
            docs.push((start_line, &text[start_byte..pos]));
            (start_byte, start_line) = (pos, i);
        } else if marker {
            start_line = i;
        }
        pos += line.len();
    }
    docs.push((start_line, &text[start_byte..]));
    docs.retain(|(_, d)| !is_blank(d));
    docs
}

/// Nothing but whitespace, comments and document markers.
pub fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
}

/// Deserializes the node at `at` in document `doc` of `text` as a `T`.
pub fn parse_node<T: DeserializeOwned>(text: &str, doc: usize, at: &[Seg]) -> Result<T, YamlError> {
    let Some(de) = serde_yaml::Deserializer::from_str(text).nth(doc) else {
        return Err(YamlError {
            location: None,
            path: path_text(at),
            message: "no such document".into(),
            hint: None,
        });
    };
    let (mut out, mut inner_path) = (None, None);
    let result = Walk {
        at,
        out: &mut out,
        inner_path: &mut inner_path,
    }
    .deserialize(de);
    let mut full = at.to_vec();
    if let Some(p) = inner_path {
        full.extend(parse_path_text(&p));
    }
    match (result, out) {
        (Ok(()), Some(v)) => Ok(v),
        (Ok(()), None) => Err(YamlError {
            location: None,
            path: path_text(at),
            message: "field not found".into(),
            hint: None,
        }),
        (Err(e), _) => Err(from_serde_yaml(&e, &path_text(&full))),
    }
}

/// The line and column of the node at `at`, if the document has it.
pub fn locate(text: &str, doc: usize, at: &[Seg]) -> Option<(usize, usize)> {
    match parse_node::<Probe>(text, doc, at) {
        Err(YamlError { location, .. }) => location,
        Ok(_) => None,
    }
}

/// Turns a `serde_yaml` error into a [`YamlError`] at `path`, stripping the position and
/// path `serde_yaml` writes into its own message (they are reported separately).
pub fn from_serde_yaml(e: &serde_yaml::Error, path: &str) -> YamlError {
    let location = e.location().map(|l| (l.line(), l.column()));
    let mut message = strip_marks(&e.to_string());
    if let Some((head, rest)) = message.split_once(": ") {
        if !head.is_empty()
            && !head.contains(char::is_whitespace)
            && !rest.is_empty()
            && (head == path || path.ends_with(head) || head.contains('.') || head.contains('['))
        {
            message = rest.to_string();
        }
    }
    // Our own scalar checks append their hint to the message; serde's unknown-name errors
    // get one computed here.
    let hint = match message.find("; did you mean ") {
        Some(i) => {
            let hint = message[i + 2..].to_string();
            message.truncate(i);
            Some(hint)
        }
        None => unknown_name_hint(&message),
    };
    YamlError {
        location,
        path: path.to_string(),
        message,
        hint,
    }
}

/// Removes ` at line N column M` (serde_yaml's and libyaml's position suffixes).
fn strip_marks(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after = &tail[digits..];
        if let Some(col) = after.strip_prefix(" column ") {
            let d = col.bytes().take_while(u8::is_ascii_digit).count();
            rest = &col[d..];
        } else {
            out.push_str(" at line ");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// serde's "unknown field `replcas`, expected one of `replicas`, ..." (or "unknown variant")
/// becomes "did you mean `replicas`?" when one expected name is close.
fn unknown_name_hint(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (unknown, expected) = names.split_first()?;
    did_you_mean(unknown, expected.iter().copied())
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Reads `a.b[0].c` (serde_path_to_error's rendering) back into segments.
fn parse_path_text(p: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    if p == "." || p.is_empty() {
        return segs;
    }
    for part in p.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        // `?` is serde_path_to_error's unknown segment (e.g. inside a YAML syntax error).
        if !key.is_empty() && key != "?" {
            segs.push(Seg::Key(key.to_string()));
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            match idx.trim_end_matches(']').parse() {
                Ok(i) => segs.push(Seg::Index(i)),
                Err(_) => segs.push(Seg::Key(idx.trim_end_matches(']').to_string())),
            }
        }
    }
    segs
}

/// Walks down `at`, then deserializes a `T` there (recording the path inside it on error).
struct Walk<'a, T> {
    at: &'a [Seg],
    out: &'a mut Option<T>,
    inner_path: &'a mut Option<String>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Walk<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.at.is_empty() {
            return match serde_path_to_error::deserialize::<_, T>(d) {
                Ok(v) => {
                    *self.out = Some(v);
                    Ok(())
                }
                Err(e) => {
                    *self.inner_path = Some(e.path().to_string());
                    Err(e.into_inner())
                }
            };
        }
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Walk<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(KeyText(key)) = map.next_key()? {
            if matches!(&self.at[0], Seg::Key(k) if *k == key) {
                let inner = Walk {
                    at: &self.at[1..],
                    out: &mut *self.out,
                    inner_path: &mut *self.inner_path,
                };
                map.next_value_seed(inner)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            if matches!(self.at[0], Seg::Index(n) if n == i) {
                let inner = Walk {
                    at: &self.at[1..],
                    out: &mut *self.out,
                    inner_path: &mut *self.inner_path,
                };
                if seq.next_element_seed(inner)?.is_none() {
                    return Ok(());
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node (`!foo value`): look no further.
        let (IgnoredAny, variant) = data.variant()?;
        de::VariantAccess::newtype_variant::<IgnoredAny>(variant).map(|_| ())
    }
}

/// A mapping key rendered as text (non-scalar keys become empty and match nothing).
struct KeyText(String);

impl<'de> serde::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyText, E> {
                Ok(KeyText(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<KeyText, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText(String::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<KeyText, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Fails on whatever node it meets, so that `serde_yaml` stamps the node's position.
struct Probe;

impl<'de> serde::Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Probe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("nothing (locating a node)")
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "a: 1\nspec:\n  items:\n    - name: x\n    - name: y\n      value: [1, 2]\n---\nb: {c: 3}\n";

    fn check(doc: usize, at: &[Seg], expect: Option<(usize, usize)>) {
        assert_eq!(locate(DOC, doc, at), expect, "{}", path_text(at));
    }

    fn k(s: &str) -> Seg {
        Seg::Key(s.into())
    }

    #[test]
    fn locates_nodes() {
        check(0, &[k("a")], Some((1, 4)));
        check(
            0,
            &[k("spec"), k("items"), Seg::Index(1), k("name")],
            Some((5, 13)),
        );
        check(
            0,
            &[
                k("spec"),
                k("items"),
                Seg::Index(1),
                k("value"),
                Seg::Index(1),
            ],
            Some((6, 18)),
        );
        check(1, &[k("b"), k("c")], Some((8, 8)));
        check(0, &[k("missing")], None);
    }

    #[test]
    fn parses_nested_nodes_with_full_paths() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Item {
            name: String,
        }
        let e = parse_node::<Item>(DOC, 0, &[k("spec"), k("items"), Seg::Index(1)]).unwrap_err();
        assert_eq!(e.path, "spec.items[1].value");
        assert_eq!(e.message, "unknown field `value`, expected `name`");
        assert_eq!(e.location, Some((6, 7)));
        let ok: Item = parse_node(DOC, 0, &[k("spec"), k("items"), Seg::Index(0)]).unwrap();
        assert_eq!(ok.name, "x");
    }

    #[test]
    fn hints() {
        let table = [
            (
                "unknown field `replcas`, expected one of `replicas`, `selector`",
                Some("did you mean `replicas`?"),
            ),
            (
                "unknown variant `lognormel`, expected `constant` or `lognormal`",
                Some("did you mean `lognormal`?"),
            ),
            (
                "unknown field `zzzzzz`, expected one of `replicas`, `selector`",
                None,
            ),
            ("invalid type: string", None),
        ];
        for (msg, want) in table {
            assert_eq!(unknown_name_hint(msg).as_deref(), want, "{msg}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn splits_documents() {
        let text = "# c\na: 1\n---\nb: 2\n--- {c: 3}\n---\n# empty\n";
        assert_eq!(
            split_documents(text),
            vec![(0, "# c\na: 1\n"), (2, "---\nb: 2\n"), (4, "--- {c: 3}\n")]
        );
        assert_eq!(split_documents("---\na: 1"), vec![(0, "---\na: 1")]);
        assert!(split_documents("").is_empty());
    }

    #[test]
    fn strips_marks() {
        assert_eq!(
            strip_marks("bad thing at line 3 column 5, while parsing at line 1 column 1"),
            "bad thing, while parsing"
        );
        assert_eq!(strip_marks("look at line endings"), "look at line endings");
    }
}
