"""The tests, laid out like the source; every directory a package, so equal basenames cannot collide."""
