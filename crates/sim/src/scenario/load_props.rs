//! Property tests: whatever bytes arrive, the loader answers with a scenario or an error,
//! never a panic; and mutations of a valid scenario keep it that way.

use std::path::Path;

use proptest::prelude::*;

use super::*;

const QUICKSTART: &str = include_str!("../../../../scenarios/quickstart.yaml");

/// Small YAML fragments that poke at the grammars: quantities, durations, cron, nesting.
const FRAGMENTS: &[&str] = &[
    "",
    " ",
    "\n",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "#",
    "---\n",
    "!tag ",
    "&a ",
    "*a",
    "? ",
    "-1",
    "0",
    "1e400",
    "99999999999999999999",
    "250mm",
    "1.5Ki",
    "5x",
    "-5s",
    "1h30m",
    "61 * * * *",
    "@every 1s",
    "null",
    "~",
    "true",
    "\t",
    "kind: List\n",
    "items: [1]",
    "\u{0}",
    "é",
    "nodePools: {}",
];

fn load_any(text: &str) {
    // The result does not matter; not panicking does.
    let _ = load_str(
        text,
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/prop.yaml"
        )),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load_any(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_quickstart_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..12, prop::sample::select(FRAGMENTS)), 1..6)
    ) {
        let mut text = QUICKSTART.to_string();
        for (at, delete, fragment) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + delete).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, fragment);
        }
        load_any(&text);
    }

    #[test]
    fn mutated_lines_never_panic(line in any::<prop::sample::Index>(), fragment in prop::sample::select(FRAGMENTS)) {
        let mut lines: Vec<String> = QUICKSTART.lines().map(str::to_string).collect();
        let i = line.index(lines.len());
        // Keep the key, replace the value: reaches the typed checks rather than YAML syntax.
        let key_end = lines[i].find(": ").map_or(0, |p| p + 2);
        lines[i].replace_range(key_end.., fragment);
        load_any(&lines.join("\n"));
    }
}
