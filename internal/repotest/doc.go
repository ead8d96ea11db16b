// Package repotest holds tests of the repository as a whole: every package
// is documented, and so is every exported name.
package repotest
