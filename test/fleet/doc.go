// Package fleet holds only tests: an end-to-end run of several contactsd
// replicas (each with its own token source, upstream client, service and
// gRPC server) sharing one real redis-server and one emulator, as the
// scale-out issue asks. Nothing outside its tests uses it.
package fleet
