//go:build !unix

package source

// openNonBlock is 0 where named pipes do not block an open the Unix way.
const openNonBlock = 0
