package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTracked is the largest file tracked outside testdata.
const maxTracked = 1 << 20

// binaryMagic are the first bytes of executables and objects: ELF,
// Mach-O (32/64, both byte orders, universal), PE ("MZ"), WebAssembly.
var binaryMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe},
	{'M', 'Z'},
	{0x00, 'a', 's', 'm'},
}

// tracked lists the repository's tracked files (paths from its root), or
// skips when this is not a git checkout (a source archive).
func tracked(t *testing.T) (root string, files []string) {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but this is not a git checkout (git rev-parse: %v)", err)
		}
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	root = strings.TrimSpace(string(out))
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = root
	out, err = ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return root, files
}

func TestNoLargeFileTracked(t *testing.T) {
	root, files := tracked(t)
	for _, f := range files {
		fi, err := os.Lstat(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		if fi.Size() > maxTracked && !inTestdata(f) {
			t.Errorf("%s is %d bytes: files over %d bytes belong in testdata or outside the repository", f, fi.Size(), maxTracked)
		}
	}
}

func TestNoBinaryTracked(t *testing.T) {
	root, files := tracked(t)
	for _, f := range files {
		if isBinary(t, filepath.Join(root, f)) {
			t.Errorf("%s is a compiled executable or object: build it, do not commit it (.gitignore)", f)
		}
	}
}

// isBinary reports whether the file starts like an executable. The magic
// must be followed by more non-text bytes so that a text file starting with
// "MZ" is not taken for one.
func isBinary(t *testing.T, path string) bool {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 64)
	n, _ := fh.Read(head)
	head = head[:n]
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, m) && bytes.IndexByte(head, 0) >= 0 {
			return true
		}
	}
	return false
}

func inTestdata(path string) bool {
	for _, part := range strings.Split(filepath.ToSlash(path), "/") {
		if part == "testdata" {
			return true
		}
	}
	return false
}

// The checks find what they are for.
func TestChecksFindABinaryAndSkipText(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable() // this test binary: an ELF, Mach-O or PE file
	if err != nil {
		t.Fatal(err)
	}
	if !isBinary(t, exe) {
		t.Errorf("the test binary %s is not recognised as a binary", exe)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("MZ is also how this line starts\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if isBinary(t, text) {
		t.Error("a text file starting with MZ is taken for a binary")
	}
	if !inTestdata("plugins/x/testdata/big.csv") || inTestdata("docs/big.png") {
		t.Error("inTestdata is wrong")
	}
}

// maxReadme is the README's size limit: read in five minutes; the rest
// belongs in docs/ (issue 31).
const maxReadme = 15000

func TestReadmeIsShort(t *testing.T) {
	root, _ := tracked(t)
	fi, err := os.Stat(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxReadme {
		t.Errorf("README.md is %d bytes, over %d: move a section to docs/ and link it", fi.Size(), maxReadme)
	}
}
