// vSphere simulator for the testbed: our own vcsim-like command on govmomi's simulator
// package. build.sh adds the govmomi requirement (GOVMOMI_VERSION) and runs go mod tidy
// in a copy under $GHOST_CACHE/src; nothing is resolved in the checkout.
module ghost.infra/testbed/vcsim

go 1.25.0
