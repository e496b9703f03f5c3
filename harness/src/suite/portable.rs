//! The suites' patterns hold for every conforming implementation, not only for the one they
//! were written on: checked here on what other implementations print. A pod network in
//! IPv6 or in another range, another CRI's container IDs, another runtime's words for a
//! missing executable. A pattern that fails one of these would fail a conforming cluster.

use crate::fields::template::Vars;
use crate::fields::versioned::parse_server_version;
use crate::steps::Kind;
use crate::suite::{Case, Suites};

fn suites() -> Suites {
    crate::suite::load(&[crate::paths::suites_dir()]).expect("the repository's suites load")
}

fn case<'a>(suites: &'a Suites, id: &str) -> &'a Case {
    suites
        .cases()
        .find(|c| c.id() == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

/// The step (1-based, as reports count) of a case.
fn step<'a>(suites: &'a Suites, id: &str, n: usize) -> &'a Kind {
    &case(suites, id).steps[n - 1].kind
}

fn vars() -> Vars {
    Vars {
        kubernetes: parse_server_version("v1.37.2"),
        ..Vars::for_validation()
    }
}

#[test]
fn container_ids_of_any_cri() {
    let s = suites();
    let Kind::Describe(d) = step(&s, "access::describe-shows-the-pod-as-the-api-has-it", 4) else {
        panic!("the describe step moved");
    };
    let re = d.matches["Containers.kuard.Container ID"]
        .compile(&vars())
        .unwrap();
    let id = "0123456789abcdef".repeat(4);
    for scheme in ["containerd", "cri-o", "docker"] {
        let v = format!("{scheme}://{id}");
        assert!(re.is_match(&v), "{v} against /{}/", re.as_str());
    }
    assert!(!re.is_match("containerd://"), "an ID is required");
}

#[test]
fn pod_addresses_of_either_family_and_any_range() {
    let s = suites();
    let Kind::Kubectl(k) = step(&s, "pod-sharing::containers-share-one-network", 4) else {
        panic!("the get -o wide step moved");
    };
    let m = k.stdout.as_ref().unwrap().compile(&vars()).unwrap();
    for ip in ["10.244.0.7", "192.168.3.14", "fd00:10:244::7"] {
        let out = format!(
            "NAME    READY   STATUS    RESTARTS   AGE   IP     NODE     NOMINATED NODE   READINESS GATES\n\
             kuard   2/2     Running   0          12s   {ip}   node-1   <none>           <none>\n"
        );
        m.check("stdout", &out)
            .unwrap_or_else(|e| panic!("{ip}: {e}"));
    }
    let Kind::Exec(e) = step(&s, "pod-sharing::containers-share-one-network", 5) else {
        panic!("the exec step moved");
    };
    let m = e.stdout.as_ref().unwrap().compile(&vars()).unwrap();
    for (ip, shown) in [
        ("10.244.0.7", "10.244.0.7"),
        ("172.31.9.2", "172.31.9.2"),
        ("fd00:10:244::7", "[fd00:10:244::7]"),
    ] {
        let out = format!(
            "sidecar at 127.0.0.1:8081 saw the request from: 127.0.0.1:40122\n\
             sidecar at the pod IP {shown}:8081 saw the request from: {shown}:40124\n"
        );
        m.check("stdout", &out)
            .unwrap_or_else(|e| panic!("{ip}: {e}"));
    }
}

#[test]
fn probe_events_with_either_address_family() {
    let s = suites();
    let Kind::Events(ev) = step(&s, "probes::tcp-probe-follows-the-port", 5) else {
        panic!("the events step moved");
    };
    let re = ev.expect[0]
        .message_regex
        .as_ref()
        .unwrap()
        .pick(parse_server_version("v1.37.2").as_ref())
        .unwrap()
        .0
        .compile(&vars())
        .unwrap();
    for addr in ["10.244.0.7", "192.168.3.14", "[fd00:10:244::7]"] {
        let m =
            format!("Readiness probe failed: dial tcp {addr}:8081: connect: connection refused");
        assert!(re.is_match(&m), "{m}");
    }
}

/// A missing `bash` as each runtime words it: the behaviour holds for all of them, and only
/// containerd 1.x with runc words it as the notes do (ci/targets/README.md has the texts).
#[test]
fn a_missing_bash_in_every_runtimes_words() {
    let s = suites();
    let Kind::Kubectl(k) = step(&s, "access::exec-without-bash", 4) else {
        panic!("the kubectl exec step moved");
    };
    let m = k.stderr.as_ref().unwrap().compile(&vars()).unwrap();
    let exec = "error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\": OCI runtime exec failed: ";
    let runtimes = [
        (
            "runc",
            "exec failed: unable to start container process: exec: \"bash\": executable file not found in $PATH: unknown",
            true,
        ),
        (
            "containerd 2 + runc",
            "exec failed: unable to start container process: exec: \"bash\": executable file not found in $PATH",
            false,
        ),
        (
            "crun",
            "executable file `bash` not found in $PATH: No such file or directory: unknown",
            false,
        ),
        (
            "gVisor",
            "executing processes for container: executing command \"bash\" in sandbox: error finding executable \"bash\" in PATH [/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin]: no such file or directory: unknown",
            false,
        ),
    ];
    for (runtime, words, as_the_notes) in runtimes {
        let text = format!("{exec}{words}");
        m.check("stderr", &text)
            .unwrap_or_else(|e| panic!("{runtime}: {e}"));
        assert_eq!(
            m.wording_differs("stderr", &text).is_none(),
            as_the_notes,
            "{runtime}"
        );
    }
    // A bash that ran is no missing bash, in any words.
    assert!(m.check("stderr", "").is_err());
}
