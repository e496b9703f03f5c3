//! podcheck's settings from the environment, in one place: each variable once, with what it
//! means, read through it and nowhere else. `podcheck --help` lists them ([`help`]); a flag of
//! the same meaning wins over its variable where both exist.
//!
//! The test binaries and the scripts under `ci/` read a few of their own (the same names, for
//! the same things); they are listed here too, so that one list says every name podcheck
//! answers to.

use std::path::PathBuf;

/// One environment variable podcheck reads.
#[derive(Clone, Copy, Debug)]
pub struct Var {
    pub name: &'static str,
    /// What it means, for `--help`.
    pub means: &'static str,
}

impl Var {
    /// The value, when set and not blank.
    pub fn get(&self) -> Option<String> {
        std::env::var(self.name)
            .ok()
            .filter(|v| !v.trim().is_empty())
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.get().map(PathBuf::from)
    }

    /// Set to `1`.
    pub fn is_on(&self) -> bool {
        self.get().is_some_and(|v| v.trim() == "1")
    }

    /// The value parsed, when set; a value that does not parse is an error naming the
    /// variable, never a silent default.
    pub fn parse<T: std::str::FromStr>(&self) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get() {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|e: T::Err| ConfigError {
                name: self.name,
                value: v,
                why: e.to_string(),
            }),
        }
    }
}

/// A variable whose value cannot mean anything.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {why}; hint: unset it, or give it a value as `podcheck --help` says")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub why: String,
}

pub const KUBECONFIG: Var = Var {
    name: "PODCHECK_KUBECONFIG",
    means: "use the cluster of this kubeconfig and start none (as --kubeconfig)",
};
pub const NODE_IMAGE: Var = Var {
    name: "PODCHECK_NODE_IMAGE",
    means: "the node image of the kind cluster podcheck starts (as --node-image); ci/node-image/build prints the offline one",
};
pub const WORKERS: Var = Var {
    name: "PODCHECK_WORKERS",
    means: "worker nodes beside the control plane of the kind cluster podcheck starts (as --workers)",
};
pub const REGISTRY: Var = Var {
    name: "PODCHECK_REGISTRY",
    means: "push the fixture images to this registry and pull them from there (as --registry)",
};
pub const REGISTRY_USERNAME: Var = Var {
    name: "PODCHECK_REGISTRY_USERNAME",
    means: "the user for a registry that wants credentials",
};
pub const REGISTRY_PASSWORD: Var = Var {
    name: "PODCHECK_REGISTRY_PASSWORD",
    means: "the password for a registry that wants credentials",
};
pub const KUBECTL: Var = Var {
    name: "PODCHECK_KUBECTL",
    means: "the kubectl to run (default: the node's own on kind-style clusters, else kubectl on PATH)",
};
pub const IMAGES: Var = Var {
    name: "PODCHECK_IMAGES",
    means: "offline, book or book-like: which images ${image.<name>} means, for processes that did not start the cluster (as --images)",
};
pub const IMAGES_LOADED: Var = Var {
    name: "PODCHECK_IMAGES_LOADED",
    means: "1: the offline images are in the cluster's nodes already (set by whoever started it)",
};
pub const KUARD_BIN: Var = Var {
    name: "PODCHECK_KUARD_BIN",
    means: "the static kuard binary the fixture images carry (default: built from fixtures/kuard)",
};
pub const BUSYBOX: Var = Var {
    name: "PODCHECK_BUSYBOX",
    means: "the static busybox the fixture images carry (default: Debian's busybox-static)",
};
pub const TARGET_KUBECONFIG: Var = Var {
    name: "PODCHECK_TARGET_KUBECONFIG",
    means: "matrix: the cluster of the `kubeconfig` target (its target file names this variable)",
};
pub const PARALLEL: Var = Var {
    name: "PODCHECK_PARALLEL",
    means: "tests: how many suite cases run at once on the test cluster",
};
pub const RUN_ID: Var = Var {
    name: "PODCHECK_RUN_ID",
    means: "tests: the run id every test process of one nextest run shares",
};
pub const KEEP_ON_FAILURE: Var = Var {
    name: "PODCHECK_KEEP_ON_FAILURE",
    means: "tests: 1 keeps the namespaces of failed cases (as --keep-on-failure)",
};
pub const E2E: Var = Var {
    name: "PODCHECK_E2E",
    means: "tests: 0 marks every test that needs a cluster ignored",
};
pub const FUZZ_CASES: Var = Var {
    name: "PODCHECK_FUZZ_CASES",
    means: "tests: how many suite files the loader's fuzz test makes",
};
pub const BENCH_CATALOGUE: Var = Var {
    name: "PODCHECK_BENCH_CATALOGUE",
    means: "ci/bench/registry: 1 also times the whole catalogue, pulled and loaded",
};
pub const BIN: Var = Var {
    name: "PODCHECK_BIN",
    means: "ci/bench/cluster and run: the podcheck binary to time (an older build, to compare)",
};
pub const CACHE_DIR: Var = Var {
    name: "PODCHECK_CACHE_DIR",
    means: "ci/ scripts: where the node images' Go builds and root file systems are cached",
};
pub const DEBIAN_MIRROR: Var = Var {
    name: "PODCHECK_DEBIAN_MIRROR",
    means: "ci/ scripts: the Debian mirror the node image is bootstrapped from",
};

/// Every variable, in the order `--help` lists them.
pub const ALL: &[Var] = &[
    KUBECONFIG,
    NODE_IMAGE,
    WORKERS,
    REGISTRY,
    REGISTRY_USERNAME,
    REGISTRY_PASSWORD,
    KUBECTL,
    IMAGES,
    IMAGES_LOADED,
    KUARD_BIN,
    BUSYBOX,
    TARGET_KUBECONFIG,
    PARALLEL,
    RUN_ID,
    KEEP_ON_FAILURE,
    E2E,
    FUZZ_CASES,
    BENCH_CATALOGUE,
    BIN,
    CACHE_DIR,
    DEBIAN_MIRROR,
];

/// The variables as `podcheck --help` shows them.
pub fn help() -> String {
    let mut s = String::from("Environment:\n");
    for v in ALL {
        s.push_str(&format!("  {:<28} {}\n", v.name, v.means));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `PODCHECK_*` name the sources, tests and scripts read is one of [`ALL`], so the
    /// list `--help` prints is whole; and the crate reads none but through this module.
    #[test]
    fn every_variable_podcheck_reads_is_listed_once() {
        let root = crate::paths::repo_root();
        let mut files = Vec::new();
        for dir in [
            "harness/src",
            "harness/tests",
            "harness/benches",
            "ci",
            ".ci",
        ] {
            collect(&root.join(dir), &mut files);
        }
        let known: Vec<&str> = ALL.iter().map(|v| v.name).collect();
        let mut unique = known.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), known.len(), "a name listed twice");
        let name = regex::Regex::new(r"\bPODCHECK_[A-Z][A-Z0-9_]*[A-Z0-9]").unwrap();
        let read = regex::Regex::new(r#"env::var(_os)?\("PODCHECK_"#).unwrap();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for m in name.find_iter(&text) {
                assert!(
                    known.contains(&m.as_str()),
                    "{}: {} is not in config::ALL",
                    f.display(),
                    m.as_str()
                );
            }
            let in_crate = f.starts_with(root.join("harness/src"));
            if in_crate && !f.ends_with("config.rs") {
                assert!(
                    !read.is_match(&text),
                    "{}: reads a PODCHECK_ variable past config.rs",
                    f.display()
                );
            }
        }
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p
                .extension()
                .is_none_or(|x| x == "rs" || x == "sh" || x == "yml" || x == "yaml")
            {
                out.push(p);
            }
        }
    }
}
