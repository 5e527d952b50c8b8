// Package readme holds the Go snippets of the repository's README.md, so
// that they compile: the test checks that every Go block of the README
// appears here verbatim (one tab of indentation removed), and runs the ones
// that need no network. Change a snippet here and in the README together.
package readme
