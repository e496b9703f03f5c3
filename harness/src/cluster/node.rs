//! A node container, as seen from the host: run a command in it, write a file into it, read a
//! file out of it. One mechanism for the nodes podcheck started and for kind-style nodes of
//! clusters it was given.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use testcontainers::bollard::{
    Docker, body_full,
    exec::{StartExecOptions, StartExecResults},
    models::ExecConfig,
    query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions},
};
use tokio::io::AsyncWriteExt;

use super::error::ClusterError;

#[derive(Clone)]
pub struct NodeContainer {
    docker: Docker,
    /// Docker container id.
    pub id: String,
    /// Container name, which is also the Kubernetes node name.
    pub name: String,
}

/// What a command in the node printed and how it ended.
#[derive(Debug, Clone)]
pub struct NodeOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl NodeOutput {
    /// stdout then stderr, for error messages.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&self.stderr);
        }
        s
    }
}

/// The last `n` lines of a text, for error messages that must stay readable.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl NodeContainer {
    pub fn new(docker: Docker, id: impl Into<String>, name: impl Into<String>) -> Self {
        NodeContainer {
            docker,
            id: id.into(),
            name: name.into(),
        }
    }

    /// Run `argv` in the node, feeding `stdin` if given; returns whatever the exit code.
    pub async fn exec_with_stdin(
        &self,
        argv: &[&str],
        stdin: Option<Bytes>,
    ) -> Result<NodeOutput, ClusterError> {
        let what = || format!("running `{}` in node {}", argv.join(" "), self.name);
        let created = self
            .docker
            .create_exec(
                &self.id,
                ExecConfig {
                    cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
                    attach_stdin: Some(stdin.is_some()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(ClusterError::docker(what()))?;
        let started = self
            .docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(ClusterError::docker(what()))?;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        if let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        {
            if let Some(data) = stdin {
                let feed = async {
                    input.write_all(&data).await?;
                    input.shutdown().await
                };
                feed.await
                    .map_err(ClusterError::io(format!("{}: writing its input", what())))?;
            }
            drop(input);
            while let Some(chunk) = output.next().await {
                use testcontainers::bollard::container::LogOutput;
                match chunk.map_err(ClusterError::docker(what()))? {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        stdout.extend_from_slice(&message)
                    }
                    LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                    LogOutput::StdIn { .. } => {}
                }
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(ClusterError::docker(what()))?;
        Ok(NodeOutput {
            exit_code: inspect.exit_code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Run `argv` in the node; returns whatever the exit code.
    pub async fn exec(&self, argv: &[&str]) -> Result<NodeOutput, ClusterError> {
        self.exec_with_stdin(argv, None).await
    }

    /// Run `argv` in the node and fail unless it exits 0.
    pub async fn run(&self, argv: &[&str]) -> Result<NodeOutput, ClusterError> {
        let out = self.exec(argv).await?;
        if out.exit_code != 0 {
            return Err(ClusterError::NodeCommand {
                command: argv.join(" "),
                exit_code: out.exit_code,
                output: tail(&out.combined(), 20),
            });
        }
        Ok(out)
    }

    /// Write `contents` to the absolute `path` in the node (parent directory must exist).
    pub async fn write_file(
        &self,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), ClusterError> {
        let path = Path::new(path);
        let (dir, name) = match (path.parent(), path.file_name()) {
            (Some(d), Some(n)) => (d, n),
            _ => {
                return Err(ClusterError::Io {
                    what: format!("writing {} in node {}", path.display(), self.name),
                    source: "not a file path".into(),
                });
            }
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        let mut archive = tar::Builder::new(Vec::new());
        let writing = || format!("writing {} in node {}", path.display(), self.name);
        archive
            .append_data(&mut header, name, contents)
            .map_err(ClusterError::io(writing()))?;
        let archive = archive.into_inner().map_err(ClusterError::io(writing()))?;
        self.docker
            .upload_to_container(
                &self.id,
                Some(UploadToContainerOptions {
                    path: dir.to_string_lossy().into_owned(),
                    ..Default::default()
                }),
                body_full(Bytes::from(archive)),
            )
            .await
            .map_err(ClusterError::docker(writing()))
    }

    /// Read the file at the absolute `path` in the node.
    pub async fn read_file(&self, path: &str) -> Result<Vec<u8>, ClusterError> {
        let mut stream = self.docker.download_from_container(
            &self.id,
            Some(DownloadFromContainerOptions {
                path: path.to_string(),
            }),
        );
        let reading = || format!("reading {path} in node {}", self.name);
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            archive.extend_from_slice(&chunk.map_err(ClusterError::docker(reading()))?);
        }
        let mut reader = tar::Archive::new(archive.as_slice());
        let mut entries = reader.entries().map_err(ClusterError::io(reading()))?;
        let mut entry = entries
            .next()
            .ok_or_else(|| ClusterError::Io {
                what: reading(),
                source: "Docker sent an empty archive".into(),
            })?
            .map_err(ClusterError::io(reading()))?;
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(ClusterError::io(reading()))?;
        Ok(data)
    }
}

impl NodeContainer {
    /// The image this node container runs.
    pub async fn docker_image(&self) -> Option<String> {
        let info = self.docker.inspect_container(&self.id, None).await.ok()?;
        info.config?.image
    }
}
