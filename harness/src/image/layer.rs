//! A root file system as one reproducible tar layer: entries in path order, every owner
//! root (0:0, no names), every mtime 0, ustar headers. The bytes depend on the contents
//! alone, never on the machine or the time of the build.

use std::io;

use tar::{Builder, EntryType, Header};

use super::rootfs::{Entry, Rootfs};

pub fn write(fs: &Rootfs) -> io::Result<Vec<u8>> {
    let mut b = Builder::new(Vec::new());
    for (path, entry) in fs.iter() {
        let mut h = Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        match entry {
            Entry::Dir { mode } => {
                h.set_entry_type(EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, format!("{path}/"), io::empty())?;
            }
            Entry::File { mode, data } => {
                h.set_entry_type(EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, data.as_slice())?;
            }
            Entry::Symlink { target } => {
                h.set_entry_type(EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target)?;
            }
        }
    }
    b.into_inner()
}
