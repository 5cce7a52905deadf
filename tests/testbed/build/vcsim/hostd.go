// What a standalone ESXi host (hostd) refuses but govmomi's simulator does anyway in -esx mode.
// A tested client must meet the real host's answers here, not the simulator's leniency.
package main

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// hostd's faultstring for a method it does not implement (govmomi #1469, community.vmware #713).
const notSupportedMessage = "The operation is not supported on the object."

// hostd answers, in front of the simulator, the calls a standalone host treats otherwise:
//   - CloneVM_Task: the SOAP fault NotSupported whatever the license (cloning needs vCenter);
//   - CopyVirtualDisk_Task of a disk that a powered-on VM has open: FileLocked. hostd checks
//     the arguments before it answers but opens the disk only in the task, so the lock shows as
//     the task's error (as for CreateVM_Task with a locked disk: "Unable to access file ...
//     since it is locked"), not as a SOAP fault. Nothing is copied.
//
// (The simulator's Registry.Handler hook cannot do this: a logged-in session's object lookup
// overrides the handler it returns.) Calls without a session cookie and calls on unknown
// objects go on to the simulator, which answers NotAuthenticated or ManagedObjectNotFound
// first, as hostd does.
type hostd struct{ reg *simulator.Registry }

func (h hostd) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(soap.SessionCookieName); err == nil && isSOAP(r) {
			call := readCall(w, r, "CloneVM_Task", "CopyVirtualDisk_Task")
			if call == nil {
				return // unreadable body: answered
			}
			if call.Method != nil && h.reg.Get(call.Method.This) != nil && h.answer(w, call.Method) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// answer writes hostd's answer to m if it differs from the simulator's; false if it does not.
func (h hostd) answer(w http.ResponseWriter, m *simulator.Method) bool {
	switch req := m.Body.(type) {
	case *types.CloneVM_Task:
		writeFault(w, notSupportedMessage, &types.NotSupported{})
		return true
	case *types.CopyVirtualDisk_Task:
		if !h.lockedByVM(req.SourceName) {
			return false
		}
		fault := &types.FileLocked{FileFault: types.FileFault{File: req.SourceName}}
		msg := fmt.Sprintf("Unable to access file %s since it is locked", req.SourceName)
		writeTask(w, m.Name, failedTask(h.reg, m.This, m.Name, fault, msg))
		return true
	}
	return false
}

// lockedByVM tells whether the disk at datastore path name (descriptor or -flat extent) is the
// current disk of a powered-on VM. Parent disks under a snapshot are only read by the VM and
// stay copyable on a real host, as are the disks of suspended VMs: they are not checked.
func (h hostd) lockedByVM(name string) bool {
	want, ok := diskKey(name)
	if !ok {
		return false
	}
	ctx := &simulator.Context{Map: h.reg, Context: context.Background()} // owns the VM locks below
	for _, e := range h.reg.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		locked := false
		ctx.WithLock(vm, func() {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil {
				return
			}
			for _, dev := range vm.Config.Hardware.Device {
				disk, ok := dev.(*types.VirtualDisk)
				if !ok {
					continue
				}
				if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
					if key, ok := diskKey(b.GetVirtualDeviceFileBackingInfo().FileName); ok && key == want {
						locked = true
					}
				}
			}
		})
		if locked {
			return true
		}
	}
	return false
}

// diskKey is "[datastore] clean/path.vmdk" for a disk's descriptor or its -flat extent.
func diskKey(name string) (string, bool) {
	var p object.DatastorePath
	if !p.FromString(name) || p.Path == "" {
		return "", false
	}
	file := path.Clean(p.Path)
	if base, ok := strings.CutSuffix(file, "-flat.vmdk"); ok {
		file = base + ".vmdk"
	}
	return "[" + p.Datastore + "] " + file, true
}
