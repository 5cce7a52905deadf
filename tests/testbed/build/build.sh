#!/usr/bin/env bash
# Builds the testbed's Go daemons and CLIs from source, fetched from the Go module proxy only
# (no release downloads, no container images), into a cache outside the checkout:
#
#   $GHOST_CACHE/bin/            vcsim etcd kube-apiserver kube-controller-manager kube-scheduler
#                                kubectl kwok helm vcluster, each with a .<name>.stamp
#   $GHOST_CACHE/kwok-stages/    kwok's "fast" stage set, copied from the kwok module
#   $GHOST_CACHE/vcluster-chart/ the vcluster chart of VCLUSTER_VERSION (--local-chart-dir)
#   $GHOST_CACHE/src/            work dirs: wrapper copies, generated go.mod/go.sum, build logs
# Concurrent runs on the same cache wait for each other (flock on $GHOST_CACHE/src/.lock).
#
# Usage: build.sh [component...]   components: vcsim etcd kubernetes kwok helm vcluster (default:
#        all); a Kubernetes binary name (kube-apiserver, kubectl, ...) selects kubernetes.
# Versions come from ../versions.env. A binary is rebuilt only when its stamp (version + hash of
# the wrapper sources, of the build recipe below and of the Go version) differs, so a run with
# nothing to do takes well under a second and needs neither network nor module cache.
# Progress on stdout, per component: "[N/M] NAME VERSION: checking", "...: building" (stale
# only), then "...: built in Ns" or "...: up to date (Ns)"; the Go commands' own output goes to
# $GHOST_CACHE/src/NAME.log.
# GHOST_CACHE defaults to $HOME/.cache/ghost-infra; GO names the go command (default: go);
# BUILD_NICE the nice level (default 10). Go's module and build caches are Go's defaults.
#
# How the outputs are used (orchestration lives elsewhere):
# - vcsim: our own front end to govmomi's simulator (build/vcsim/main.go), e.g.
#     vcsim -l 127.0.0.1:PORT -username U -password P [-esx] [-template NAME] [-dc N ...]
#   HTTPS with a self-signed certificate; prints "vcsim: listening on https://.../sdk".
# - kwok: a controller against a running kube-apiserver, e.g.
#     kwok --kubeconfig=KUBECONFIG \
#          --manage-all-nodes=false \
#          --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
#          --node-ip=127.0.0.1 [--server-address=127.0.0.1:PORT] \
#          --config=$GHOST_CACHE/kwok-stages/node-initialize.yaml \
#          --config=$GHOST_CACHE/kwok-stages/node-heartbeat-with-lease.yaml \
#          --config=$GHOST_CACHE/kwok-stages/pod-ready.yaml \
#          --config=$GHOST_CACHE/kwok-stages/pod-complete.yaml \
#          --config=$GHOST_CACHE/kwok-stages/pod-delete.yaml
#   v0.7.0 falls back to this same built-in set when given no stage (v0.8.0 refuses to start);
#   any --config replaces the default ~/.kwok/kwok.yaml; without --server-address kwok serves no
#   kubelet API. Fake nodes need the annotation kwok.x-k8s.io/node=fake (plus a taint/label the
#   test pods tolerate/select). The node.kubernetes.io/not-ready taint the API server puts on
#   new nodes is only lifted by kube-controller-manager's nodelifecycle controller: keep it on.
# - vcluster: needs this `helm` first in PATH (else it tries to download one) and
#   VCLUSTER_SKIP_VERSION_CHECK=true (else it asks GitHub for updates), e.g.
#     vcluster create NAME -n NS --local-chart-dir $GHOST_CACHE/vcluster-chart --connect=false
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../versions.env
. "$here/../versions.env"

GO=${GO:-go}
MIN_GO=1.26 # etcd v3.5.35's go.mod says go 1.26.0
# Static binaries, no workspace or VCS stamping surprises, and never a silent toolchain download.
export CGO_ENABLED=0 GO111MODULE=on GOWORK=off GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
NICE=(nice -n "${BUILD_NICE:-10}")

KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
ALL=(vcsim etcd kubernetes kwok helm vcluster)
COMPONENT=build.sh

die() {
	echo "build.sh: $*" >&2
	exit 1
}

command -v "$GO" >/dev/null 2>&1 || die "'$GO' not found: install Go >= $MIN_GO (or set GO=/path/to/go)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (coreutils)"
GO_ID=$("$GO" env GOVERSION GOOS GOARCH | tr '\n' ' ')
go_version=${GO_ID%% *}
go_version=${go_version#go}
if [ "$(printf '%s\n' "$MIN_GO" "$go_version" | sort -V | head -n 1)" != "$MIN_GO" ]; then
	die "Go $go_version is too old: these versions need Go >= $MIN_GO"
fi

GHOST_CACHE=${GHOST_CACHE:-$HOME/.cache/ghost-infra}
mkdir -p "$GHOST_CACHE/bin" "$GHOST_CACHE/src"
GHOST_CACHE=$(cd "$GHOST_CACHE" && pwd)
BIN=$GHOST_CACHE/bin
SRC=$GHOST_CACHE/src

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run LOG CMD...: run a build step niced, output to LOG; on failure show its tail and stop.
run() {
	local log=$1
	shift
	echo "+ $*" >>"$log"
	if ! "${NICE[@]}" "$@" >>"$log" 2>&1; then
		echo "---- last lines of $log ----" >&2
		tail -n 40 "$log" >&2
		die "$COMPONENT: build FAILED at: $* (full log: $log)"
	fi
}

# modinfo MODULE@VERSION FIELD: a field (Dir, GoMod, Info, ...) of `go mod download -json`,
# which downloads the module into Go's module cache if needed.
modinfo() {
	local json value
	json=$("$GO" mod download -json "$1" 2>&1) || die "$COMPONENT: cannot download $1: $json"
	value=$(printf '%s\n' "$json" | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n 1)
	[ -n "$value" ] || die "$COMPONENT: no $2 for $1 in: $json"
	printf '%s\n' "$value"
}

# stamp_key VERSION WRAPPER_DIR|- FUNCTION...: what the stamps of a component must contain: its
# version and a hash of the Go version, the given shell functions (the build recipe: flags,
# packages; comments don't count) and the wrapper module's files.
stamp_key() {
	local version=$1 dir=$2 hash
	shift 2
	hash=$(
		{
			printf '%s\n' "$GO_ID"
			declare -f "$@"
			if [ "$dir" != - ]; then
				(cd "$here/$dir" && find . -type f -print | LC_ALL=C sort | while IFS= read -r f; do
					printf '%s\n' "$f"
					cat "$f"
				done)
			fi
		} | sha256sum | cut -c1-32
	)
	printf '%s %s\n' "$version" "$hash"
}

# stale KEY NAME...: print the names whose binary is missing or whose stamp differs from KEY.
stale() {
	local key=$1 name
	shift
	for name in "$@"; do
		if [ ! -x "$BIN/$name" ] || [ "$(cat "$BIN/.$name.stamp" 2>/dev/null)" != "$key" ]; then
			echo "$name"
		fi
	done
}

# current KEY DIR STAMP: whether a copied directory (kwok-stages, vcluster-chart) is up to date.
current() {
	[ -d "$2" ] && [ "$(cat "$3" 2>/dev/null)" = "$1" ]
}

# install_bins KEY OUTDIR NAME...: move fresh binaries into $BIN (atomic rename: running
# processes keep their old binary) and stamp them.
install_bins() {
	local key=$1 out=$2 name
	shift 2
	for name in "$@"; do
		[ -x "$out/$name" ] || die "$COMPONENT: $out/$name was not produced"
		mv -f "$out/$name" "$BIN/$name"
		printf '%s\n' "$key" >"$BIN/.$name.stamp"
	done
	STATUS=built
}

# install_dir KEY SRCDIR DEST STAMP: replace DEST by a writable copy of SRCDIR, then stamp it.
install_dir() {
	local key=$1 from=$2 dest=$3 stamp=$4
	rm -rf "$dest.tmp"
	cp -R "$from" "$dest.tmp"
	chmod -R u+w "$dest.tmp"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	printf '%s\n' "$key" >"$stamp"
	STATUS=built
}

# workdir NAME [WRAPPER]: a fresh work dir under $SRC (holding a copy of the wrapper module),
# and an empty log $SRC/NAME.log. Every build of a stale binary starts here: it says so (on
# stderr, as its stdout is the work dir).
workdir() {
	local w=$SRC/$1
	progress building >&2
	rm -rf "$w"
	mkdir -p "$w/out"
	if [ -n "${2:-}" ]; then
		cp -R "$here/$2/." "$w/"
		chmod -R u+w "$w"
	fi
	: >"$w.log"
	printf '%s\n' "$w"
}

# module_build NAME MODULE VERSION LDFLAGS BINARY=PACKAGE...: build main packages of a published
# module that has no replace/exclude directives through a generated wrapper module (require +
# tool lines). Its build list is the one `go install pkg@version` would use, but go install also
# reads the module's version list (for deprecation notices), which the filtered module proxy
# refuses for some modules (vcluster), so go install itself is not used.
module_build() {
	local name=$1 module=$2 v=$3 ldflags=$4 w gomod spec
	local -a edits
	shift 4
	gomod=$(modinfo "$module@$v" GoMod)
	if grep -Eq '^(replace|exclude)([[:space:](]|$)' "$gomod"; then
		die "$name: $module@$v has replace/exclude directives; it needs a hand-written wrapper"
	fi
	w=$(workdir "$name")
	cd "$w"
	run "$w.log" "$GO" mod init "ghost.infra/testbed/$name"
	edits=(-require="$module@$v")
	for spec in "$@"; do edits+=(-tool="${spec#*=}"); done
	run "$w.log" "$GO" mod edit "${edits[@]}"
	run "$w.log" "$GO" mod tidy
	for spec in "$@"; do
		run "$w.log" "$GO" build -trimpath -ldflags "$ldflags" -o "out/${spec%%=*}" "${spec#*=}"
	done
}

build_vcsim() {
	local v=$GOVMOMI_VERSION key w
	key=$(stamp_key "$v" vcsim build_vcsim)
	[ -n "$(stale "$key" vcsim)" ] || return 0
	w=$(workdir vcsim vcsim)
	cd "$w"
	run "$w.log" "$GO" mod edit -require="github.com/vmware/govmomi@$v"
	run "$w.log" "$GO" mod tidy
	run "$w.log" "$GO" build -trimpath -ldflags "-s -w" -o out/vcsim .
	install_bins "$key" out vcsim
}

build_etcd() {
	local v=$ETCD_VERSION key w
	key=$(stamp_key "$v" etcd build_etcd)
	[ -n "$(stale "$key" etcd)" ] || return 0
	w=$(workdir etcd etcd)
	cd "$w"
	# The server module's own replace lines (../api, ../client/...) only apply inside etcd's
	# repository; its requirements already pin every etcd module to the same release.
	run "$w.log" "$GO" mod edit -require="go.etcd.io/etcd/server/v3@$v"
	run "$w.log" "$GO" mod tidy
	run "$w.log" "$GO" build -trimpath -ldflags "-s -w" -o out/etcd .
	install_bins "$key" out etcd
}

build_kubernetes() {
	local v=$KUBERNETES_VERSION key w staging major minor date ldflags pkg gomod name
	local -a todo edits pkgs
	key=$(stamp_key "$v" kubernetes build_kubernetes)
	mapfile -t todo < <(stale "$key" "${KUBE_BINARIES[@]}")
	[ "${#todo[@]}" -gt 0 ] || return 0
	w=$(workdir kubernetes kubernetes)
	cd "$w"
	# Replace every staging module of that release's go.mod by its published v0.Y.Z.
	staging=v0.${v#v1.} # v1.34.4 -> v0.34.4
	gomod=$(modinfo "k8s.io/kubernetes@$v" GoMod)
	edits=(-require="k8s.io/kubernetes@$v")
	while IFS= read -r name; do
		edits+=(-replace="$name=$name@$staging")
	done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")
	[ "${#edits[@]}" -gt 10 ] || die "kubernetes: found no staging replace lines in $gomod"
	run "$w.log" "$GO" mod edit "${edits[@]}"
	run "$w.log" "$GO" mod tidy
	# Version stamping as upstream's hack/lib/version.sh does; buildDate is the release's commit
	# time (from the proxy's .info), so rebuilds are identical.
	major=${v#v}
	major=${major%%.*}
	minor=${v#v*.}
	minor=${minor%%.*}
	date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(modinfo "k8s.io/kubernetes@$v" Info)")
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
	done
	pkgs=()
	for name in "${todo[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
	run "$w.log" "$GO" build -trimpath -ldflags "$ldflags" -o out/ "${pkgs[@]}"
	install_bins "$key" out "${todo[@]}"
}

build_kwok() {
	local v=$KWOK_VERSION key dir f stages=$GHOST_CACHE/kwok-stages stamp=$BIN/.kwok-stages.stamp
	key=$(stamp_key "$v" - build_kwok module_build)
	if [ -n "$(stale "$key" kwok)" ]; then
		module_build kwok sigs.k8s.io/kwok "$v" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v" \
			kwok=sigs.k8s.io/kwok/cmd/kwok
		install_bins "$key" "$SRC/kwok/out" kwok
	fi
	current "$key" "$stages" "$stamp" && return 0
	# kwok's "fast" stage set (kustomize/stage/fast): node init + heartbeat with lease, pod
	# ready/complete/delete: what v0.7 uses when given no stages.
	dir=$(modinfo "sigs.k8s.io/kwok@$v" Dir)
	rm -rf "$SRC/kwok-stages"
	mkdir -p "$SRC/kwok-stages"
	for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		[ -f "$dir/kustomize/stage/$f" ] || die "kwok: kustomize/stage/$f is not in the kwok $v module"
		cp "$dir/kustomize/stage/$f" "$SRC/kwok-stages/"
	done
	install_dir "$key" "$SRC/kwok-stages" "$stages" "$stamp"
}

build_helm() {
	local v=$HELM_VERSION key gomod kmin ldflags p
	key=$(stamp_key "$v" - build_helm module_build)
	[ -n "$(stale "$key" helm)" ] || return 0
	# As helm's Makefile: the version, and the Kubernetes version of its k8s.io/client-go
	# (default capabilities of `helm template` and lint).
	gomod=$(modinfo "helm.sh/helm/v3@$v" GoMod)
	kmin=$(sed -n 's#^[[:space:]]*k8s\.io/client-go[[:space:]]\{1,\}v0\.\([0-9]*\)\..*#\1#p' "$gomod" | head -n 1)
	[ -n "$kmin" ] || die "helm: no k8s.io/client-go requirement in $gomod"
	ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$v"
	ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
	for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
		ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kmin"
	done
	module_build helm helm.sh/helm/v3 "$v" "$ldflags" helm=helm.sh/helm/v3/cmd/helm
	install_bins "$key" "$SRC/helm/out" helm
}

build_vcluster() {
	local v=$VCLUSTER_VERSION key dir chart=$GHOST_CACHE/vcluster-chart stamp=$BIN/.vcluster-chart.stamp
	key=$(stamp_key "$v" - build_vcluster module_build)
	if [ -n "$(stale "$key" vcluster)" ]; then
		# main.version: without it the CLI asks for chart version 0.0.1.
		module_build vcluster github.com/loft-sh/vcluster "$v" "-s -w -X main.version=$v" \
			vcluster=github.com/loft-sh/vcluster/cmd/vclusterctl
		install_bins "$key" "$SRC/vcluster/out" vcluster
	fi
	current "$key" "$chart" "$stamp" && return 0
	# The chart in the module carries the placeholder version 0.0.1 (vcluster's release
	# pipeline sets it) and its templates use .Chart.Version as image tag: the copy gets the
	# real version.
	dir=$(modinfo "github.com/loft-sh/vcluster@$v" Dir)
	[ -f "$dir/chart/Chart.yaml" ] || die "vcluster: no chart/Chart.yaml in $dir"
	rm -rf "$SRC/vcluster-chart"
	cp -R "$dir/chart" "$SRC/vcluster-chart"
	chmod -R u+w "$SRC/vcluster-chart"
	sed -i "s/^version:.*/version: ${v#v}/" "$SRC/vcluster-chart/Chart.yaml"
	install_dir "$key" "$SRC/vcluster-chart" "$chart" "$stamp"
}

# progress STATE [DETAIL]: one line of progress for the current component, e.g.
# "[3/6] kubernetes v1.34.4: built in 612.3s"; testbed/binaries.py reads these lines.
progress() {
	printf '[%s] %s %s: %s%s\n' "$STEP" "$COMPONENT" "$(version_of "$COMPONENT")" "$1" "${2:+ $2}"
}

version_of() {
	case $1 in
	vcsim) echo "$GOVMOMI_VERSION" ;;
	etcd) echo "$ETCD_VERSION" ;;
	kubernetes) echo "$KUBERNETES_VERSION" ;;
	kwok) echo "$KWOK_VERSION" ;;
	helm) echo "$HELM_VERSION" ;;
	vcluster) echo "$VCLUSTER_VERSION" ;;
	esac
}

# Bash reads a script while running it: all the work happens in main, called on the last line,
# so that this file being edited during a long build cannot derail the running one.
main() {
	local arg start n=0 total=0
	local -a args want
	args=("$@")
	[ "$#" -gt 0 ] || args=("${ALL[@]}")
	want=()
	for arg in "${args[@]}"; do
		case $arg in
		vcsim | etcd | kubernetes | kwok | helm | vcluster) want+=("$arg") ;;
		kube-apiserver | kube-controller-manager | kube-scheduler | kubectl) want+=(kubernetes) ;;
		-h | --help)
			sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
			exit 0
			;;
		*) die "unknown component '$arg' (known: ${ALL[*]} ${KUBE_BINARIES[*]})" ;;
		esac
	done

	# One build at a time per cache: work dirs and stamps are shared. (Not .build.lock: the
	# testbed's Python side holds that one while it runs this script.)
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$SRC/.lock"
		if ! flock -n 9; then
			echo "build.sh: waiting for another build.sh using $GHOST_CACHE" >&2
			flock 9
		fi
	fi

	# In a fixed order, each once.
	for COMPONENT in "${ALL[@]}"; do
		case " ${want[*]} " in *" $COMPONENT "*) total=$((total + 1)) ;; esac
	done
	for COMPONENT in "${ALL[@]}"; do
		case " ${want[*]} " in *" $COMPONENT "*) ;; *) continue ;; esac
		n=$((n + 1))
		STEP=$n/$total
		progress checking
		start=$(now)
		STATUS=up-to-date
		cd "$SRC"
		"build_$COMPONENT"
		if [ "$STATUS" = built ]; then
			progress built "in $(elapsed "$start")s"
		else
			progress "up to date" "($(elapsed "$start")s)"
		fi
	done
}

main "$@"
