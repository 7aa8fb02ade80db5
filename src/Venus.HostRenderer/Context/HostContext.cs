using Venus.Native;
using System.Runtime.InteropServices;
using Venus.HostRenderer.Native;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer.Context;

public sealed class HostOptions
{
    /// <summary>Most bytes one command may make the host allocate while decoding.</summary>
    public ulong MaxCommandBytes { get; init; } = 64UL << 20;
    /// <summary>Most bytes of guest-shared memory (blobs) one context may hold.</summary>
    public ulong MaxSharedBytes { get; init; } = 8UL << 30;
    /// <summary>Most bytes of VkDeviceMemory one context may hold (allocationSize summed over live allocations).</summary>
    public ulong MaxDeviceMemoryBytes { get; init; } = 16UL << 30;
    /// <summary>Most live Vulkan objects one context may hold.</summary>
    public int MaxObjects { get; init; } = 1 << 20;
    /// <summary>Folder for recorded command streams (--record), or null.</summary>
    public string? RecordDir { get; init; }
    public Action<string> Log { get; init; } = Console.Error.WriteLine;
}

/// <summary>A guest-visible resource: shared memory the guest maps (a memfd), by vtest resource id.</summary>
internal sealed unsafe class Resource
{
    public uint Id;
    public int Fd = -1;
    public byte* Map;
    public ulong Size;
    /// <summary>The guest VkDeviceMemory this resource exports, 0 for plain shared memory.</summary>
    public ulong MemoryId;
    public bool OwnsMapping;
    /// <summary>Reply streams and rings using the mapping; it stays mapped until they let go.</summary>
    public int Pins;
    /// <summary>The guest unreferenced it while pinned: freed when the last pin goes.</summary>
    public bool Released;
}

/// <summary>
/// One Venus context: a vtest client's (or a virtio-gpu context's) objects, resources, rings and
/// reply streams. A fatal error (§9) makes every later submission a no-op and is logged once; the
/// server then drops the client and disposes the context, which destroys what the guest left.
/// </summary>
internal sealed unsafe partial class HostContext : IDisposable
{
    public HostOptions Options { get; }
    public string Label { get; }
    public ObjectTable Objects { get; }
    public Handlers Handlers { get; }
    public VulkanLibrary Vk { get; }
    public Dispatcher Virtqueue { get; }
    /// <summary>Host fences on guest submits; destruction waits for the work it may still be used by.</summary>
    public SubmitRetire Retire { get; }
    /// <summary>Timeline fences, retired in order by a thread per timeline.</summary>
    public TimelineFences Timelines { get; }

    readonly object _lock = new();
    readonly Dictionary<uint, Resource> _resources = new();
    uint _nextResource = 1;
    ulong _sharedBytes;
    readonly List<(bool Device, nint Table, int InstanceTable)> _tables = new();
    volatile string? _fatal;
    readonly Recorder? _recorder;

    public HostContext(VulkanLibrary vk, HostOptions options, string label)
    {
        Vk = vk;
        Options = options;
        Label = label;
        Objects = new ObjectTable(options.MaxObjects);
        Handlers = new Handlers(this);
        Virtqueue = new Dispatcher(this, "virtqueue");
        Retire = new SubmitRetire(this);
        Timelines = new TimelineFences(this);
        if (options.RecordDir != null) _recorder = new Recorder(options.RecordDir, label);
    }

    public bool IsFatal => _fatal != null;
    public string? FatalReason => _fatal;

    /// <summary>Marks the context dead; the first reason is logged, later ones are dropped.</summary>
    public void Fatal(string reason)
    {
        if (Interlocked.CompareExchange(ref _fatal, reason, null) == null)
        {
            Options.Log($"venus-host: context {Label}: fatal: {reason}");
            OnFatal();
        }
    }

    partial void OnFatal();

    public void Record(string stream, ReadOnlySpan<byte> command) => _recorder?.Write(stream, command);

    // ---- function tables -------------------------------------------------------------------------

    public int AddInstanceTable(VkInstanceFunctions* t)
    {
        lock (_lock) { _tables.Add((false, (nint)t, -1)); return _tables.Count - 1; }
    }

    public int AddDeviceTable(VkDeviceFunctions* t, int instanceTable)
    {
        lock (_lock) { _tables.Add((true, (nint)t, instanceTable)); return _tables.Count - 1; }
    }

    public void SelectTables(int index, out VkInstanceFunctions* instance, out VkDeviceFunctions* device)
    {
        lock (_lock)
        {
            var t = _tables[index];
            if (t.Device) { device = (VkDeviceFunctions*)t.Table; instance = (VkInstanceFunctions*)_tables[t.InstanceTable].Table; }
            else { device = null; instance = (VkInstanceFunctions*)t.Table; }
        }
    }

    // ---- resources -------------------------------------------------------------------------------

    public bool TryGetResource(uint id, out Resource r)
    {
        lock (_lock) return _resources.TryGetValue(id, out r!);
    }

    /// <summary>
    /// A memfd the guest maps: blob_id 0 shared memory (rings, reply streams, command pools). Mapped in
    /// whole pages; with <paramref name="exactFile"/> the file holds exactly <paramref name="size"/>
    /// bytes (a render server's VMM checks that), else whole pages too. <paramref name="id"/> 0 lets
    /// the context pick the resource id (vtest); otherwise it is the VMM's.
    /// </summary>
    public Resource? CreateSharedMemory(ulong size, out string? error, uint id = 0, bool exactFile = false)
    {
        error = null;
        if (size == 0) { error = "a blob of size 0"; return null; }
        if (size > Options.MaxSharedBytes) { error = $"a blob of {size} bytes, above the shared memory cap of {Options.MaxSharedBytes}"; return null; }
        ulong mapped = VenusBlob.RoundUp(size);
        if (id != 0 && TryGetResource(id, out _)) { error = $"resource {id} exists already"; return null; }
        if (!ReserveShared(mapped)) { error = $"shared memory cap of {Options.MaxSharedBytes} bytes reached"; return null; }
        if (!Posix.CreateSharedMemory("venus-shmem", mapped, out int fd, out byte* map, exactFile ? size : 0))
        {
            ReleaseShared(mapped);
            error = $"memfd of {size} bytes failed (errno {Marshal.GetLastPInvokeError()})";
            return null;
        }
        var r = AddResource(new Resource { Fd = fd, Map = map, Size = mapped, OwnsMapping = true }, id);
        if (r == null) { error = $"resource {id} exists already"; Free(new Resource { Fd = fd, Map = map, Size = mapped, OwnsMapping = true }); }
        return r;
    }

    /// <summary>
    /// A resource the VMM made elsewhere (IMPORT_RESOURCE of a render server): <paramref name="fd"/>
    /// (owned from here on, closed on failure) is mapped for <paramref name="size"/> bytes.
    /// </summary>
    public Resource? ImportResource(uint id, int fd, ulong size, out string? error)
    {
        error = null;
        ulong mapped = VenusBlob.RoundUp(size);
        long fileSize = Posix.FileSize(fd);
        if (size == 0 || size > Options.MaxSharedBytes) error = $"an import of {size} bytes";
        else if (fileSize >= 0 && (ulong)fileSize < size) error = $"an import of {size} bytes from a file of {fileSize}";
        else if (TryGetResource(id, out _)) error = $"resource {id} exists already";
        else if (!ReserveShared(mapped)) error = $"shared memory cap of {Options.MaxSharedBytes} bytes reached";
        if (error != null) { Libc.Close(fd); return null; }
        void* map = Libc.Mmap(null, (nuint)mapped, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (map == Libc.MAP_FAILED)
        {
            error = $"cannot map the imported fd (errno {Marshal.GetLastPInvokeError()})";
            ReleaseShared(mapped);
            Libc.Close(fd);
            return null;
        }
        var res = new Resource { Fd = fd, Map = (byte*)map, Size = mapped, OwnsMapping = true };
        var r = AddResource(res, id);
        if (r == null) { error = $"resource {id} exists already"; Free(res); }
        return r;
    }

    /// <summary>
    /// Counts guest-shared memory against <see cref="HostOptions.MaxSharedBytes"/>: blob_id-0 blobs
    /// and the memfds behind exported device memory share one cap.
    /// </summary>
    public bool ReserveShared(ulong size)
    {
        lock (_lock)
        {
            if (_sharedBytes + size > Options.MaxSharedBytes) return false;
            _sharedBytes += size;
            return true;
        }
    }

    public void ReleaseShared(ulong size)
    {
        lock (_lock) _sharedBytes -= Math.Min(size, _sharedBytes);
    }

    ulong _deviceMemoryBytes;

    /// <summary>Counts a VkDeviceMemory allocation against <see cref="HostOptions.MaxDeviceMemoryBytes"/>.</summary>
    public bool ReserveDeviceMemory(ulong size)
    {
        lock (_lock)
        {
            if (size > Options.MaxDeviceMemoryBytes || _deviceMemoryBytes + size > Options.MaxDeviceMemoryBytes) return false;
            _deviceMemoryBytes += size;
            return true;
        }
    }

    public void ReleaseDeviceMemory(ulong size)
    {
        lock (_lock) _deviceMemoryBytes -= Math.Min(size, _deviceMemoryBytes);
    }

    public ulong DeviceMemoryBytes { get { lock (_lock) return _deviceMemoryBytes; } }

    /// <summary>Registers <paramref name="r"/> under <paramref name="id"/>, or a free id when 0; null when <paramref name="id"/> is taken.</summary>
    public Resource? AddResource(Resource r, uint id = 0)
    {
        lock (_lock)
        {
            if (id != 0)
            {
                if (!_resources.TryAdd(id, r)) return null;
                r.Id = id;
                return r;
            }
            while (_resources.ContainsKey(_nextResource) || _nextResource == 0) _nextResource++;
            r.Id = _nextResource++;
            _resources[r.Id] = r;
            return r;
        }
    }

    public void UnrefResource(uint id)
    {
        Resource? r;
        lock (_lock)
        {
            if (!_resources.Remove(id, out r)) return;
            if (r.Pins > 0)
            {
                // A ring or a reply stream still uses the pages: keep them mapped until it lets go (§9).
                r.Released = true;
                r = null;
            }
        }
        if (r != null) Free(r);
    }

    /// <summary>Keeps a resource mapped while a reply stream or ring uses it.</summary>
    public void Pin(Resource r)
    {
        lock (_lock) r.Pins++;
    }

    public void Unpin(Resource? r)
    {
        if (r == null) return;
        bool free;
        lock (_lock) free = --r.Pins == 0 && r.Released;
        if (free) Free(r);
    }

    void Free(Resource r)
    {
        if (r.OwnsMapping) ReleaseShared(r.Size);
        if (r.OwnsMapping && r.Map != null) Libc.Munmap(r.Map, (nuint)r.Size);
        if (r.Fd >= 0) Libc.Close(r.Fd);
    }


    // ---- capset ----------------------------------------------------------------------------------

    /// <summary>The venus capset this host states: what our generated protocol and this host implement.</summary>
    public static byte[] BuildCapset()
    {
        var numbers = VenusProtocolInfo.Extensions.Select(x => x.Number).ToArray();
        var capset = new VenusCapset
        {
            WireFormatVersion = VenusProtocolInfo.WireFormatVersion,
            VkXmlVersion = VenusProtocolInfo.VkXmlVersion,
            VkExtCommandSerializationSpecVersion = (uint)VenusProtocolInfo.CommandSerializationSpecVersion,
            // Spec 3: the ring priority struct is accepted and the host copies run (Families/HostCopy.cs).
            VkMesaVenusProtocolSpecVersion = 3,
            SupportsBlobId0 = true,
            AllowVkWaitSyncs = true,
            SupportsMultipleTimelines = true,
            UseGuestVram = false,
            ExtensionMask = VenusExtensionMask.FromExtensions(numbers),
        };
        var bytes = new byte[VenusCapset.Size];
        capset.WriteTo(bytes);
        return bytes;
    }

    // ---- teardown --------------------------------------------------------------------------------

    public void Dispose()
    {
        StopRings();
        DestroyVulkanObjects();
        Timelines.Dispose();
        Virtqueue.ClearReplyStream();
        List<Resource> all;
        lock (_lock)
        {
            all = _resources.Values.ToList();
            _resources.Clear();
        }
        // Anything still pinned belongs to a ring thread that would not stop: leave it mapped.
        foreach (var r in all) if (r.Pins == 0) Free(r);
        lock (_lock)
        {
            foreach (var t in _tables) NativeMemory.Free((void*)t.Table);
            _tables.Clear();
        }
        Virtqueue.Arena.Dispose();
        _recorder?.Dispose();
    }

    partial void StopRings();
}
