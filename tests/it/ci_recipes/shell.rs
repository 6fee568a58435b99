//! Shell scripts of CI files, split into simple commands and their words.

use regex::Regex;

/// The simple commands of a shell script, each as the line it starts on (0-based) and its
/// words: quotes removed, `\`-newlines joined, comments dropped; newlines, `;`, `&`, `|` and
/// parentheses end a command. Variables and GitHub expressions stay as written
/// (`${{ matrix.shard }}` becomes `${{matrix.shard}}`). Redirections are not understood: their
/// words count as arguments, which only tooltape's positional arguments could be confused with.
pub fn shell_commands(script: &str) -> Vec<(usize, Vec<String>)> {
    let expr = Regex::new(r"\$\{\{(.*?)\}\}").unwrap();
    let script = expr.replace_all(script, |c: &regex::Captures| {
        format!("${{{{{}}}}}", c[1].split_whitespace().collect::<String>())
    });
    let mut split = Split::default();
    let mut chars = script.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('\n') => split.line += 1,
                Some(c) => split.push(c),
                None => {}
            },
            '\'' => {
                for c in chars.by_ref().take_while(|&c| c != '\'') {
                    split.push(c);
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            split.push(chars.next().unwrap())
                        }
                        c => split.push(c),
                    }
                }
            }
            '#' if split.word.is_none() => {
                chars.by_ref().take_while(|&c| c != '\n').for_each(drop);
                split.end_command();
                split.line += 1;
            }
            '\n' => {
                split.end_command();
                split.line += 1;
            }
            ';' | '&' | '|' | '(' | ')' => split.end_command(),
            c if c.is_whitespace() => split.end_word(),
            c => split.push(c),
        }
    }
    split.end_command();
    split.commands
}

#[derive(Default)]
struct Split {
    line: usize,
    start: usize,
    word: Option<String>,
    words: Vec<String>,
    commands: Vec<(usize, Vec<String>)>,
}

impl Split {
    fn push(&mut self, c: char) {
        if self.word.is_none() && self.words.is_empty() {
            self.start = self.line;
        }
        self.word.get_or_insert_default().push(c);
    }

    fn end_word(&mut self) {
        self.words.extend(self.word.take());
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.words.is_empty() {
            self.commands
                .push((self.start, std::mem::take(&mut self.words)));
        }
    }
}

#[test]
fn shell_words_follow_quotes_continuations_and_separators() {
    let words = |s: &str| shell_commands(s);
    let expected = |lines: &[(usize, &[&str])]| -> Vec<(usize, Vec<String>)> {
        lines
            .iter()
            .map(|(l, w)| (*l, w.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    assert_eq!(
        words("A=1 tooltape test 'a b' \"c\\\"d\" \\\n  --seed 7 # comment\n\necho ok && ls; x|y"),
        expected(&[
            (
                0,
                &["A=1", "tooltape", "test", "a b", "c\"d", "--seed", "7"]
            ),
            (3, &["echo", "ok"]),
            (3, &["ls"]),
            (3, &["x"]),
            (3, &["y"]),
        ])
    );
    assert_eq!(
        words("--partition ${{ matrix.shard }}/4"),
        expected(&[(0, &["--partition", "${{matrix.shard}}/4"])])
    );
}
