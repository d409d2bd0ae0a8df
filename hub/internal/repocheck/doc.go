// Package repocheck holds the repository's hygiene tests: no large file
// and no compiled binary is tracked (a 20 MB binary committed once made up
// almost all of .git). It has no code of its own.
package repocheck
