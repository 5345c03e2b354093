//! The file transport: each message becomes `NNN.eml` in a folder, numbered in send order.
//! For the demo and for operators who want to look before mail goes anywhere.

use std::path::{Path, PathBuf};

use super::SendError;

#[derive(Debug, Clone)]
pub struct FileTransport {
    dir: PathBuf,
}

/// How many numbers to try past the highest one seen, when another writer races us.
const MAX_NAME_ATTEMPTS: usize = 1000;

impl FileTransport {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the message to the next free `NNN.eml`; never overwrites a file.
    pub async fn send(&self, raw: &[u8]) -> Result<(), SendError> {
        let fail = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SendError::File { path, source }
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(fail(&self.dir))?;
        let mut number = self.highest_number().await.map_err(fail(&self.dir))? + 1;
        for _ in 0..MAX_NAME_ATTEMPTS {
            let path = self.dir.join(format!("{number:03}.eml"));
            // create_new: two workers writing at once never overwrite each other's mail.
            match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(mut file) => {
                    use tokio::io::AsyncWriteExt;
                    file.write_all(raw).await.map_err(fail(&path))?;
                    return file.flush().await.map_err(fail(&path));
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
                Err(error) => return Err(fail(&path)(error)),
            }
        }
        Err(fail(&self.dir)(std::io::Error::other(
            "no free NNN.eml name found",
        )))
    }

    async fn highest_number(&self) -> std::io::Result<u64> {
        let mut highest = 0;
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_suffix(".eml"))
                .and_then(|n| n.parse::<u64>().ok());
            highest = highest.max(number.unwrap_or(0));
        }
        Ok(highest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_become_numbered_eml_files() {
        let dir = tempfile::tempdir().unwrap();
        let transport = FileTransport::new(dir.path().join("outbox"));
        transport.send(b"first").await.unwrap();
        transport.send(b"second").await.unwrap();
        let read = |name: &str| std::fs::read(dir.path().join("outbox").join(name)).unwrap();
        assert_eq!(read("001.eml"), b"first");
        assert_eq!(read("002.eml"), b"second");
    }
}
