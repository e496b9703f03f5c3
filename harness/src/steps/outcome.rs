//! What a command did (its exit code and output) and how the steps that run commands,
//! `kubectl` and `exec`, record and check it: the same `exit:`, `stdout:` and `stderr:`
//! expectations for both, so a suite author learns them once.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::error::StepError;
use super::kind::StepCx;
pub use crate::kubectl::Output;
use crate::matchers::Mismatch;
use crate::matchers::text::{TextSpec, quote_block};

/// The exit code a command must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Exit {
    #[default]
    Zero,
    Code(i32),
    NonZero,
    Any,
}

impl Exit {
    pub fn check(self, what: &str, code: Option<i32>) -> Result<(), Mismatch> {
        let ok = match (self, code) {
            (Exit::Any, _) => true,
            (Exit::Zero, Some(0)) => true,
            (Exit::Code(want), Some(c)) => want == c,
            (Exit::NonZero, Some(c)) => c != 0,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(Mismatch::new(
            format!("{what} exited with another code"),
            format!("exit code {self}"),
            match code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            },
        ))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Zero => f.write_str("0"),
            Exit::Code(c) => write!(f, "{c}"),
            Exit::NonZero => f.write_str("nonzero"),
            Exit::Any => f.write_str("any"),
        }
    }
}

impl<'de> Deserialize<'de> for Exit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::fields::template::scalar_string(d)?;
        match s.as_str() {
            "nonzero" => Ok(Exit::NonZero),
            "any" => Ok(Exit::Any),
            n => n
                .parse::<i32>()
                .map(|c| if c == 0 { Exit::Zero } else { Exit::Code(c) })
                .map_err(|_| {
                    de::Error::custom(format!(
                        "invalid exit `{s}`: expected a number, `nonzero` or `any`"
                    ))
                }),
        }
    }
}

impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Record `out` in the step log, then check its exit code and its output streams, in that
/// order: a wrong exit code explains a wrong output better than the other way round.
pub(crate) fn check(
    cx: &mut StepCx<'_>,
    out: &Output,
    exit: Exit,
    stdout: &Option<TextSpec>,
    stderr: &Option<TextSpec>,
) -> Result<(), StepError> {
    log(cx, out);
    exit.check(&out.command, out.code)
        .map_err(|m| with_output(m, &out.stdout, &out.stderr))?;
    for (what, spec, text) in [
        ("stdout", stdout, &out.stdout),
        ("stderr", stderr, &out.stderr),
    ] {
        if let Some(spec) = spec {
            cx.check_text(spec, what, text)?;
        }
    }
    Ok(())
}

/// Record a command and its output in the step log.
pub(crate) fn log(cx: &mut StepCx<'_>, out: &Output) {
    cx.note(format!(
        "$ {}  # exit {}, {:.2}s",
        out.command,
        out.code.map_or("signal".to_string(), |c| c.to_string()),
        out.elapsed.as_secs_f64()
    ));
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !text.is_empty() {
            cx.note(format!("{name}:{}", quote_block(text)));
        }
    }
}

/// An exit-code mismatch says more with the output beside it.
fn with_output(mut m: Mismatch, stdout: &str, stderr: &str) -> StepError {
    m.actual = format!(
        "{}; stdout: {}; stderr: {}",
        m.actual,
        quote_block(stdout),
        quote_block(stderr)
    );
    StepError::Failed(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_expectations() {
        let e: Exit = serde_saphyr::from_str("nonzero").unwrap();
        assert!(e.check("x", Some(1)).is_ok());
        assert!(e.check("x", Some(0)).is_err());
        let e: Exit = serde_saphyr::from_str("126").unwrap();
        let m = e.check("kubectl exec", Some(1)).unwrap_err();
        assert_eq!(
            (m.expected.as_str(), m.actual.as_str()),
            ("exit code 126", "exit code 1")
        );
        assert!(Exit::Zero.check("x", None).is_err());
        assert!(serde_saphyr::from_str::<Exit>("sometimes").is_err());
    }
}
