// Command vcsim serves govmomi's vSphere simulator for the ghost.infra testbed.
//
// It exists because upstream's vcsim command lives in its own Go module that the module proxy
// we can reach does not serve; this is our own small front end to the simulator library with
// vcsim-like flags, plus -template: a powered-off VM template with a 10 GiB disk, a NIC and one
// snapshot (so full and linked clones work), created in-process before the port is opened.
// With -esx it refuses what a standalone host refuses (hostd.go); both modes serve test fault
// injection at /ghost-testbed/faults (faults.go).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	// Extra endpoints of a vCenter (REST/vAPI for tags and content libraries, lookup, STS,
	// PBM, ...); each registers itself and is only served in vCenter mode. Not ssoadmin: it
	// replaces the login check and rejects -username values of the form user@domain.
	_ "github.com/vmware/govmomi/cns/simulator"
	_ "github.com/vmware/govmomi/eam/simulator"
	_ "github.com/vmware/govmomi/lookup/simulator"
	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/sts/simulator"
	_ "github.com/vmware/govmomi/vapi/appliance/simulator"
	_ "github.com/vmware/govmomi/vapi/cluster/simulator"
	_ "github.com/vmware/govmomi/vapi/esx/settings/simulator"
	_ "github.com/vmware/govmomi/vapi/namespace/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
	_ "github.com/vmware/govmomi/vapi/vm/simulator"
	_ "github.com/vmware/govmomi/vsan/simulator"
	_ "github.com/vmware/govmomi/vslm/simulator"
)

const templateDiskKiB = 10 * 1024 * 1024 // 10 GiB

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("l", "127.0.0.1:8989", "listen address (host:port; port 0 picks a free one)")
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host (ha-datacenter) instead of a vCenter")
	username := flag.String("username", "", "login user name (empty: any non-empty user/password is accepted)")
	password := flag.String("password", "", "login password")
	useTLS := flag.Bool("tls", true, "serve HTTPS with a self-signed certificate")
	trace := flag.Bool("trace", false, "write SOAP requests and responses to stderr")
	methodDelay := flag.String("method-delay", "", "per-method delay, e.g. 'CloneVM_Task:2000,PowerOnVM_Task:500' (ms)")
	delay := flag.Int("delay", 0, "delay every SOAP call by this many ms")
	jitter := flag.Float64("delay-jitter", 0, "delay jitter as a coefficient of variation (stddev/mean)")
	template := flag.String("template", "ubuntu-22.04-template", "name of the VM template to create (empty: none)")

	// Inventory sizes, as vcsim's flags; defaults are those of the vCenter model.
	model := simulator.VPX()
	counts := []countFlag{
		{"dc", "number of datacenters", &model.Datacenter, false},
		{"cluster", "number of clusters per datacenter", &model.Cluster, false},
		{"host", "number of hosts per cluster", &model.ClusterHost, false},
		{"standalone-host", "number of standalone hosts per datacenter", &model.Host, false},
		{"ds", "number of local datastores", &model.Datastore, true},
		{"vm", "number of virtual machines per resource pool", &model.Machine, true},
		{"pool", "number of child resource pools per cluster", &model.Pool, false},
		{"folder", "number of folders (each holding a datacenter)", &model.Folder, false},
		{"pg", "number of distributed port groups per datacenter", &model.Portgroup, false},
		{"app", "number of vApps per cluster", &model.App, false},
		{"pod", "number of storage pods per cluster", &model.Pod, false},
	}
	for _, c := range counts {
		flag.IntVar(c.field, c.name, *c.field, c.usage)
	}
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}

	if *esx {
		// A standalone host has one datacenter, host and pool: only -ds and -vm apply.
		vpx := model
		model = simulator.ESX()
		model.Datastore, model.Machine = vpx.Datastore, vpx.Machine
		flag.Visit(func(f *flag.Flag) {
			for _, c := range counts {
				if c.name == f.Name && !c.esx {
					fmt.Fprintf(os.Stderr, "vcsim: -%s is ignored with -esx\n", f.Name)
				}
			}
		})
	}

	delays, err := parseMethodDelay(*methodDelay)
	if err != nil {
		return err
	}

	simulator.Trace = *trace
	if err := model.Create(); err != nil {
		return fmt.Errorf("create model: %w", err)
	}
	defer model.Remove()
	fixVMRuntime(model.Map())

	ctx := context.Background()
	if *template != "" {
		// Talk to the service in-process: the template exists before anyone can connect.
		c, err := vim25.NewClient(ctx, model.Service)
		if err != nil {
			return fmt.Errorf("in-process client: %w", err)
		}
		if err := createTemplate(ctx, c, *template); err != nil {
			return fmt.Errorf("template %q: %w", *template, err)
		}
	}

	// Delays and faults only for real clients, not for building the inventory.
	model.DelayConfig.Delay = *delay
	model.DelayConfig.MethodDelay = delays
	model.DelayConfig.DelayJitter = *jitter

	u := &url.URL{Host: *listen}
	if *username != "" || *password != "" {
		u.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = u
	if *useTLS {
		model.Service.TLS = new(tls.Config)
	}
	model.Service.RegisterEndpoints = true

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	server := model.Service.NewServer()
	// Test faults first, then hostd's answers, then the simulator. NewServer is already serving:
	// a request before this line (only a health probe can come that early) meets the simulator.
	handler := server.Config.Handler
	if *esx {
		handler = hostd{model.Map()}.wrap(handler)
	}
	server.Config.Handler = newInjector(model.Map()).wrap(handler)
	served := *server.URL
	served.User = nil
	fmt.Printf("vcsim: listening on %s (%s)\n", served.String(), model.ServiceContent.About.FullName)

	s := <-sig
	fmt.Fprintf(os.Stderr, "vcsim: %s, shutting down\n", s)
	server.CloseClientConnections()
	server.Close()
	return nil
}

// countFlag is one inventory size flag; esx tells whether it also applies with -esx.
type countFlag struct {
	name, usage string
	field       *int
	esx         bool
}

func parseMethodDelay(spec string) (map[string]int, error) {
	delays := map[string]int{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		method, ms, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(strings.TrimSpace(ms))
		if !ok || method == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("bad -method-delay entry %q (want Method:milliseconds)", item)
		}
		delays[strings.TrimSpace(method)] = n
	}
	return delays, nil
}

// createTemplate creates a powered-off VM named name in the first datacenter's vm folder,
// with a 10 GiB thin disk on the first datastore and a vmxnet3 NIC, takes one snapshot of it
// and marks it as a template.
func createTemplate(ctx context.Context, c *vim25.Client, name string) error {
	dc, err := firstDatacenter(ctx, c)
	if err != nil {
		return err
	}
	finder := find.NewFinder(c, false)
	finder.SetDatacenter(dc)

	if vms, _ := finder.VirtualMachineList(ctx, name); len(vms) != 0 {
		return errors.New("a VM of that name already exists")
	}

	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	computes, err := finder.ComputeResourceList(ctx, "*")
	if err != nil {
		return err
	}
	pool, err := computes[0].ResourcePool(ctx)
	if err != nil {
		return err
	}
	datastores, err := finder.DatastoreList(ctx, "*")
	if err != nil {
		return err
	}
	ds := datastores[0]
	network, err := pickNetwork(ctx, finder)
	if err != nil {
		return err
	}

	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(),
		ds.Path(name+"/disk1.vmdk"))
	disk.CapacityInKB = templateDiskKiB
	disk.CapacityInBytes = templateDiskKiB * 1024
	if backing, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
		backing.ThinProvisioned = types.NewBool(true)
	}
	devices = append(devices, disk)
	backing, err := network.EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		return err
	}
	devices = append(devices, nic)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd) // creates the disk file
	if err != nil {
		return err
	}

	spec := types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierUbuntu64Guest),
		NumCPUs:      2,
		MemoryMB:     2048,
		Annotation:   "ghost.infra testbed template",
		Files:        &types.VirtualMachineFileInfo{VmPathName: ds.Path("")},
		DeviceChange: changes,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return fmt.Errorf("CreateVM: %w", err)
	}
	vm := object.NewVirtualMachine(c, info.Result.(types.ManagedObjectReference))

	task, err = vm.CreateSnapshot(ctx, "base", "clone source for linked clones", false, false)
	if err != nil {
		return err
	}
	if _, err := task.WaitForResult(ctx, nil); err != nil {
		return fmt.Errorf("CreateSnapshot: %w", err)
	}
	if err := vm.MarkAsTemplate(ctx); err != nil {
		return fmt.Errorf("MarkAsTemplate: %w", err)
	}
	return nil
}

// vmRuntimeFix fills the VirtualMachineRuntimeInfo enums the simulator leaves empty
// (faultToleranceState, recordReplayState). They have no omitempty, so they went on the wire
// as empty elements that pyVmomi cannot parse: reading vm.runtime or vm.summary failed
// (govmomi issue 4084, fixed upstream after v0.56.0, the newest version we can fetch).
type vmRuntimeFix struct{}

func fixVMRuntime(r *simulator.Registry) {
	for _, e := range r.All("VirtualMachine") {
		vmRuntimeFix{}.PutObject(nil, e)
	}
	r.AddHandler(vmRuntimeFix{}) // and every VM created later (clones, CreateVM, RegisterVM)
}

func (vmRuntimeFix) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "GhostInfraTestbed", Value: "vm-runtime-fix"}
}

func (vmRuntimeFix) PutObject(_ *simulator.Context, obj mo.Reference) {
	if vm, ok := obj.(*simulator.VirtualMachine); ok {
		for _, rt := range []*types.VirtualMachineRuntimeInfo{&vm.Runtime, &vm.Summary.Runtime} {
			if rt.FaultToleranceState == "" {
				rt.FaultToleranceState = types.VirtualMachineFaultToleranceStateNotConfigured
			}
			if rt.RecordReplayState == "" {
				rt.RecordReplayState = types.VirtualMachineRecordReplayStateInactive
			}
		}
	}
}

func (vmRuntimeFix) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

func (vmRuntimeFix) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// firstDatacenter returns the datacenter whose name sorts first, wherever it is in the folder tree.
func firstDatacenter(ctx context.Context, c *vim25.Client) (*object.Datacenter, error) {
	v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"Datacenter"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	var dcs []mo.Datacenter
	if err := v.Retrieve(ctx, []string{"Datacenter"}, []string{"name"}, &dcs); err != nil {
		return nil, err
	}
	if len(dcs) == 0 {
		return nil, errors.New("no datacenter in the inventory")
	}
	sort.Slice(dcs, func(i, j int) bool { return dcs[i].Name < dcs[j].Name })
	return object.NewDatacenter(c, dcs[0].Reference()), nil
}

// pickNetwork prefers the standard "VM Network" port group, else the first network found.
func pickNetwork(ctx context.Context, finder *find.Finder) (object.NetworkReference, error) {
	if n, err := finder.Network(ctx, "VM Network"); err == nil {
		return n, nil
	}
	nets, err := finder.NetworkList(ctx, "*")
	if err != nil {
		return nil, err
	}
	return nets[0], nil
}
