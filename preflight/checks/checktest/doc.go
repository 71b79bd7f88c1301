// Package checktest holds the helpers the tests of the preflight check packages share.
package checktest
