//! The one list of names that carry secrets: request headers, query parameters, JSON members,
//! environment variables and `NAME: value` text all look here.
//!
//! Names are compared folded: lower case, `-` as `_`, and a camelCase hump as `_`
//! (`X-Amz-Security-Token`, `x_amz_security_token`, `xAmzSecurityToken` are one name).
//! Some names also count as the last words of a longer one (`api_key` makes `x-goog-api-key`
//! and `OPENAI_API_KEY`); a few short ones are secrets only as a whole header or query
//! parameter name, because as a JSON member they are ordinary words: `key` of a tool input,
//! `code` of a code tool, `token` of a logprobs entry, `signature` of a thinking block.

/// Where a name is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
    /// A JSON member of a body.
    Member,
    /// `NAME: value` or `NAME=value` in free text (a header line, an env dump, a config file).
    Text,
    /// An environment variable of the recorder.
    Env,
}

/// One secret-bearing name and where it counts.
struct Name {
    /// Folded.
    name: &'static str,
    /// Also as the last words of a longer name (`_` + it).
    suffix: bool,
    /// As a JSON member (otherwise only a header or query parameter, or a variable).
    member: bool,
    /// In `NAME: value` text (names that are rarely a word of prose).
    text: bool,
}

const fn n(name: &'static str, suffix: bool, member: bool, text: bool) -> Name {
    Name {
        name,
        suffix,
        member,
        text,
    }
}

/// The list. Folded names; see the module docs for the columns.
#[rustfmt::skip]
const NAMES: &[Name] = &[
    //  name                  suffix member text
    n("api_key",              true,  true,  true),
    n("apikey",               true,  true,  true),
    n("access_token",         true,  true,  true),
    n("refresh_token",        true,  true,  true),
    n("id_token",             true,  true,  true),
    n("auth_token",           true,  true,  true),
    n("bearer_token",         true,  true,  true),
    n("session_token",        true,  true,  true),
    n("security_token",       true,  true,  true),
    n("private_token",        true,  true,  true),
    n("client_secret",        true,  true,  true),
    n("secret_key",           true,  true,  true),
    n("secret_access_key",    true,  true,  true),
    n("private_key",          true,  true,  true),
    n("subscription_key",     true,  true,  true),
    n("authorization",        true,  true,  true),
    n("cookie",               true,  true,  true),
    n("password",             true,  true,  false),
    n("passwd",               true,  true,  false),
    n("secret",               true,  true,  false),
    n("credential",           false, true,  false),
    n("credentials",          false, true,  false),
    // Secrets as a header or query parameter only.
    n("key",                  false, false, false),
    n("token",                false, false, false),
    n("auth",                 false, false, false),
    n("code",                 false, false, false),
    n("sig",                  false, false, false),
    n("signature",            false, false, false),
    n("jwt",                  false, false, false),
    n("x_amz_signature",      false, false, false),
    n("x_amz_credential",     false, false, false),
];

/// `name` folded: lower case, `-`, `.` and spaces as `_`, a lower-to-upper hump as `_`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.trim().chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        });
    }
    out
}

/// Whether `name` carries a secret in `scope`.
pub fn is_secret(name: &str, scope: Scope) -> bool {
    let folded = fold(name);
    if scope == Scope::Env && folded.ends_with("_token") {
        return true;
    }
    NAMES.iter().any(|n| {
        let here = match scope {
            Scope::Header | Scope::Query | Scope::Env => true,
            Scope::Member => n.member,
            Scope::Text => n.text,
        };
        here && (folded == n.name
            || (n.suffix
                && folded
                    .strip_suffix(n.name)
                    .is_some_and(|rest| rest.ends_with('_'))))
    })
}

/// A regex alternation of the names that count in `scope`, words joined by `sep` (a regex:
/// `-` for header names as HTTP spells them, `[-_]?` for any spelling), each after any number
/// of leading words where the name counts as a suffix. Case is left to the caller's `(?i)`.
pub fn alternation(scope: Scope, sep: &str) -> String {
    let words = |name: &str| name.split('_').collect::<Vec<_>>().join(sep);
    let mut alts: Vec<String> = NAMES
        .iter()
        .filter(|n| match scope {
            Scope::Text => n.text,
            Scope::Member => n.member,
            _ => true,
        })
        .map(|n| {
            if n.suffix {
                format!("(?:[a-z0-9]+{sep})*{}", words(n.name))
            } else {
                words(n.name)
            }
        })
        .collect();
    // Longest first, so that `api_key` is not cut at `api`.
    alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
    alts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_dashes_and_humps() {
        assert_eq!(fold("X-Amz-Security-Token"), "x_amz_security_token");
        assert_eq!(fold("xAmzSecurityToken"), "x_amz_security_token");
        assert_eq!(fold("private-token"), "private_token");
        assert_eq!(fold("OPENAI_API_KEY"), "openai_api_key");
        assert_eq!(fold("apiKey"), "api_key");
    }

    #[test]
    fn the_issue_names_match_in_every_spelling() {
        for name in [
            "client_secret",
            "Client-Secret",
            "access-token",
            "access_token",
            "accessToken",
            "X-Amz-Security-Token",
            "x_amz_security_token",
            "private_token",
            "private-token",
            "PRIVATE-TOKEN",
        ] {
            for scope in [Scope::Header, Scope::Query, Scope::Member, Scope::Text] {
                assert!(is_secret(name, scope), "{name} in {scope:?}");
            }
        }
    }

    #[test]
    fn suffixes_count_only_after_a_word_break() {
        assert!(is_secret("x-goog-api-key", Scope::Header));
        assert!(is_secret("OPENAI_API_KEY", Scope::Env));
        assert!(is_secret("set-cookie", Scope::Header));
        assert!(is_secret("webhook_secret", Scope::Member));
        assert!(!is_secret("max_tokens", Scope::Member));
        assert!(!is_secret("secretary", Scope::Member));
        assert!(!is_secret("input_tokens", Scope::Member));
        assert!(!is_secret("xsecret", Scope::Member));
    }

    #[test]
    fn ordinary_member_words_are_secrets_only_in_headers_and_queries() {
        for name in ["key", "token", "code", "signature", "auth", "sig"] {
            assert!(is_secret(name, Scope::Query), "{name}");
            assert!(is_secret(name, Scope::Header), "{name}");
            assert!(!is_secret(name, Scope::Member), "{name}");
            assert!(!is_secret(name, Scope::Text), "{name}");
        }
        assert!(!is_secret("api-version", Scope::Query));
        assert!(!is_secret("beta", Scope::Query));
        assert!(!is_secret("content-type", Scope::Header));
        assert!(!is_secret("x-stainless-retry-count", Scope::Header));
    }

    #[test]
    fn environment_variables_by_name_and_token_suffix() {
        for name in [
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "DB_PASSWORD",
        ] {
            assert!(is_secret(name, Scope::Env), "{name}");
        }
        for name in ["HOME", "PATH", "TOKENIZERS_PARALLELISM", "SSH_AUTH_SOCK"] {
            assert!(!is_secret(name, Scope::Env), "{name}");
        }
    }

    #[test]
    fn the_text_alternation_matches_folded_spellings() {
        let any =
            regex::Regex::new(&format!("(?i)^(?:{})$", alternation(Scope::Text, "[-_]?"))).unwrap();
        let header =
            regex::Regex::new(&format!("(?i)^(?:{})$", alternation(Scope::Text, "-"))).unwrap();
        for s in [
            "X-Amz-Security-Token",
            "private-token",
            "apikey",
            "Authorization",
            "set-cookie",
        ] {
            assert!(any.is_match(s) && header.is_match(s), "{s}");
        }
        for s in ["x_amz_security_token", "OPENAI_API_KEY", "session_cookie"] {
            assert!(any.is_match(s) && !header.is_match(s), "{s}");
        }
        for s in ["token", "password", "max_tokens", "key"] {
            assert!(!any.is_match(s), "{s}");
        }
    }
}
