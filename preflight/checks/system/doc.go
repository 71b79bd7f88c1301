// Package system checks the operating system a node runs: release, package
// repositories and packages, SELinux and root's shell prompt.
package system
