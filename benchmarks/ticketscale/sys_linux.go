package main

import (
	"os"
	"syscall"
)

// freeDisk returns the bytes available to this user in dir's file system.
func freeDisk(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// evict asks the kernel to drop the cached pages of the file at path, so
// that later reads go to the disk, as they do once a file outgrows the
// page cache. The file must be closed and unmapped: mapped pages stay.
func evict(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	const adviceDontNeed = 4 // POSIX_FADV_DONTNEED
	_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, fh.Fd(), 0, 0, adviceDontNeed, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
