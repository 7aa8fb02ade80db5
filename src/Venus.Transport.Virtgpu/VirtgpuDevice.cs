using System.Text;
using Venus.Native;

namespace Venus.Transport.Virtgpu;

/// <summary>A blob resource: its GEM handle on this fd, its host resource id and its (page-rounded) size.</summary>
public readonly record struct VirtgpuBlob(uint BoHandle, uint ResHandle, ulong Size);

/// <summary>The answer of DRM_IOCTL_VIRTGPU_RESOURCE_INFO.</summary>
public readonly record struct VirtgpuResourceInfo(uint BoHandle, uint ResHandle, uint Size, uint BlobMem);

/// <summary>
/// An open virtio-gpu DRM render node and the ioctls a Venus guest driver uses on it
/// (venus-protocol.md §7). Every ioctl is retried on EINTR and EAGAIN, as libdrm's drmIoctl does.
/// The public methods throw <see cref="VirtgpuException"/> for a failed call (with its errno) and
/// <see cref="ArgumentException"/> for an argument no kernel would accept; nothing else.
/// The fd belongs to this object: <see cref="Dispose"/> closes it.
/// </summary>
public sealed unsafe class VirtgpuDevice : IDisposable
{
    private const int MaxContextParams = 16;

    private int _fd;

    private VirtgpuDevice(string path, int fd, string driverName, (int, int, int) version)
    {
        Path = path;
        _fd = fd;
        DriverName = driverName;
        DriverVersion = version;
    }

    /// <summary>The node this device was opened from.</summary>
    public string Path { get; }

    /// <summary>The DRM fd (-1 once disposed).</summary>
    public int Fd => Volatile.Read(ref _fd);

    /// <summary>The DRM driver name (always "virtio_gpu": <see cref="Open"/> refuses other drivers).</summary>
    public string DriverName { get; }

    /// <summary>The DRM driver version of DRM_IOCTL_VERSION (virtio_gpu: major 0).</summary>
    public (int Major, int Minor, int Patch) DriverVersion { get; }

    /// <summary>
    /// The render nodes (<c>renderD&lt;n&gt;</c>) in <paramref name="dir"/>, full paths, sorted by
    /// number; empty when the folder is missing or unreadable. Which driver each belongs to is
    /// only known after <see cref="Open"/>.
    /// </summary>
    public static IReadOnlyList<string> RenderNodes(string dir = "/dev/dri")
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        var found = new List<(uint Number, string Path)>();
        try
        {
            foreach (string entry in Directory.EnumerateFiles(dir)) // every non-folder: device nodes too
            {
                string name = System.IO.Path.GetFileName(entry);
                if (name.Length > "renderD".Length && name.StartsWith("renderD", StringComparison.Ordinal)
                    && uint.TryParse(name.AsSpan("renderD".Length), System.Globalization.NumberStyles.None, null, out uint number))
                    found.Add((number, entry));
            }
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
        found.Sort((a, b) => a.Number.CompareTo(b.Number));
        return found.ConvertAll(f => f.Path);
    }

    /// <summary>
    /// Opens <paramref name="path"/> (O_RDWR | O_CLOEXEC) and checks with DRM_IOCTL_VERSION that
    /// its driver is virtio_gpu. On any failure the fd is closed and a <see cref="VirtgpuException"/>
    /// says why ("cannot open ...", "... not a DRM device", "driver is 'i915', not virtio_gpu").
    /// </summary>
    public static VirtgpuDevice Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd;
        int errno;
        do
        {
            fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            errno = fd < 0 ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError() : 0;
        } while (fd < 0 && errno == Libc.EINTR);
        if (fd < 0)
            throw new VirtgpuException("open", errno, $"cannot open {path}: {VirtgpuException.Describe(errno)}");

        try
        {
            (string name, (int, int, int) version) = QueryVersion(fd, path);
            if (name != VirtgpuIoctl.DriverName)
                throw new VirtgpuException("DRM_IOCTL_VERSION", 0, $"{path}: driver is '{name}', not {VirtgpuIoctl.DriverName}");
            return new VirtgpuDevice(path, fd, name, version);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Wraps an fd that is already open without asking its driver (the tests' way to reach the
    /// ioctl error paths on a node that is not virtio_gpu). The device owns the fd from here on.
    /// </summary>
    internal static VirtgpuDevice Adopt(string path, int fd, string driverName) => new(path, fd, driverName, (0, 0, 0));

    private static (string Name, (int, int, int) Version) QueryVersion(int fd, string path)
    {
        // First call: lengths only (the kernel copies nothing into zero-length buffers); second:
        // the name. Date and description are not asked for.
        DrmVersion v = default;
        int errno = IoctlRetry(fd, VirtgpuIoctl.Version, &v);
        if (errno != 0)
        {
            string hint = errno == 25 ? "; not a DRM device" : "";
            throw new VirtgpuException("DRM_IOCTL_VERSION", errno,
                $"DRM_IOCTL_VERSION failed on {path}: {VirtgpuException.Describe(errno)}{hint}");
        }
        int length = (int)Math.Min(v.NameLen, 256u);
        byte* name = stackalloc byte[Math.Max(length, 1)];
        v = new DrmVersion { NameLen = (nuint)length, Name = name };
        errno = IoctlRetry(fd, VirtgpuIoctl.Version, &v);
        if (errno != 0)
            throw VirtgpuException.Failed("DRM_IOCTL_VERSION", path, errno);
        int copied = (int)Math.Min((nuint)length, v.NameLen);
        string text = Encoding.UTF8.GetString(name, copied);
        return (text, (v.VersionMajor, v.VersionMinor, v.VersionPatchlevel));
    }

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_GETPARAM. False when the kernel does not know <paramref name="param"/>
    /// (EINVAL); other failures throw. The kernel writes a 4-byte int through the value pointer;
    /// it lands in a zeroed 8-byte buffer, so the value read is that int zero-extended
    /// (little-endian), and still right should a kernel write all 8 bytes.
    /// </summary>
    public bool TryGetParam(VirtgpuParam param, out ulong value)
    {
        int errno = GetParamCore(param, out value);
        if (errno == 0)
            return true;
        if (errno == Libc.EINVAL)
            return false;
        throw VirtgpuException.Failed("VIRTGPU_GETPARAM", Path, errno);
    }

    /// <summary>DRM_IOCTL_VIRTGPU_GETPARAM; a parameter the kernel does not know throws (EINVAL).</summary>
    public ulong GetParam(VirtgpuParam param)
    {
        int errno = GetParamCore(param, out ulong value);
        if (errno != 0)
            throw new VirtgpuException("VIRTGPU_GETPARAM", errno,
                $"VIRTGPU_GETPARAM({param}) failed on {Path}: {VirtgpuException.Describe(errno)}");
        return value;
    }

    private int GetParamCore(VirtgpuParam param, out ulong value)
    {
        ulong answer = 0;
        var arg = new DrmVirtgpuGetparam { Param = (ulong)param, Value = VirtgpuIoctl.Pointer(&answer) };
        int errno = Ioctl(VirtgpuIoctl.Getparam, &arg, "VIRTGPU_GETPARAM");
        value = errno == 0 ? answer : 0;
        return errno;
    }

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_GET_CAPS: capset <paramref name="capsetId"/> at
    /// <paramref name="version"/> into <paramref name="destination"/> (Venus: capset 4, version 0,
    /// 160 bytes). The kernel copies min(destination, the host's capset size) and does not say how
    /// much; the return value is <c>destination.Length</c>.
    /// </summary>
    public int GetCaps(uint capsetId, uint version, Span<byte> destination)
    {
        if (destination.IsEmpty)
            throw new ArgumentException("the kernel refuses a zero-sized capset query", nameof(destination));
        fixed (byte* p = destination)
        {
            var arg = new DrmVirtgpuGetCaps
            {
                CapSetId = capsetId,
                CapSetVer = version,
                Addr = VirtgpuIoctl.Pointer(p),
                Size = (uint)destination.Length,
            };
            int errno = Ioctl(VirtgpuIoctl.GetCaps, &arg, "VIRTGPU_GET_CAPS");
            if (errno != 0)
                throw new VirtgpuException("VIRTGPU_GET_CAPS", errno,
                    $"VIRTGPU_GET_CAPS(capset {capsetId}, version {version}) failed on {Path}: {VirtgpuException.Describe(errno)}");
        }
        return destination.Length;
    }

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_CONTEXT_INIT with the given parameters (at most 16; the kernel refuses
    /// repeats). Must come before the first execbuffer or blob of this fd, which would otherwise
    /// create a default (virgl) context.
    /// </summary>
    public void ContextInit(ReadOnlySpan<(VirtgpuContextParam Param, ulong Value)> parameters)
    {
        if (parameters.IsEmpty || parameters.Length > MaxContextParams)
            throw new ArgumentException($"CONTEXT_INIT takes 1 to {MaxContextParams} parameters, not {parameters.Length}", nameof(parameters));
        DrmVirtgpuContextSetParam* list = stackalloc DrmVirtgpuContextSetParam[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
            list[i] = new DrmVirtgpuContextSetParam { Param = (ulong)parameters[i].Param, Value = parameters[i].Value };
        var arg = new DrmVirtgpuContextInit { NumParams = (uint)parameters.Length, CtxSetParams = VirtgpuIoctl.Pointer(list) };
        Check(Ioctl(VirtgpuIoctl.ContextInit, &arg, "VIRTGPU_CONTEXT_INIT"), "VIRTGPU_CONTEXT_INIT");
    }

    /// <summary>
    /// CONTEXT_INIT as Mesa's venus does it: CAPSET_ID, NUM_RINGS and POLL_RINGS_MASK
    /// (<c>ContextInit(VirtgpuIoctl.CapsetVenus, 64)</c>).
    /// </summary>
    public void ContextInit(uint capsetId, uint numRings, ulong pollRingsMask = 0) =>
        ContextInit([
            (VirtgpuContextParam.CapsetId, capsetId),
            (VirtgpuContextParam.NumRings, numRings),
            (VirtgpuContextParam.PollRingsMask, pollRingsMask),
        ]);

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB. <paramref name="size"/> must be non-zero and is
    /// rounded up here to a multiple of 4096 (the returned <see cref="VirtgpuBlob.Size"/> is the
    /// rounded size). <paramref name="command"/> is an optional command stream the host runs
    /// first (HOST3D and HOST3D_GUEST only; Venus sends none).
    /// </summary>
    public VirtgpuBlob CreateBlob(VirtgpuBlobMem mem, VirtgpuBlobFlags flags, ulong size, ulong blobId,
        ReadOnlySpan<byte> command = default)
    {
        if (size == 0)
            throw new ArgumentOutOfRangeException(nameof(size), "a blob needs a non-zero size");
        if (size > ulong.MaxValue - (VirtgpuIoctl.BlobAlignment - 1))
            throw new ArgumentOutOfRangeException(nameof(size), $"a blob of {size} bytes cannot be rounded up to whole pages");
        ulong rounded = (size + VirtgpuIoctl.BlobAlignment - 1) & ~(VirtgpuIoctl.BlobAlignment - 1);
        fixed (byte* cmd = command)
        {
            var arg = new DrmVirtgpuResourceCreateBlob
            {
                BlobMem = (uint)mem,
                BlobFlags = (uint)flags,
                Size = rounded,
                CmdSize = (uint)command.Length,
                Cmd = command.IsEmpty ? 0 : VirtgpuIoctl.Pointer(cmd),
                BlobId = blobId,
            };
            int errno = Ioctl(VirtgpuIoctl.ResourceCreateBlob, &arg, "VIRTGPU_RESOURCE_CREATE_BLOB");
            if (errno != 0)
                throw new VirtgpuException("VIRTGPU_RESOURCE_CREATE_BLOB", errno,
                    $"VIRTGPU_RESOURCE_CREATE_BLOB({mem}, {flags}, {rounded} bytes, blob id {blobId}) failed on {Path}: {VirtgpuException.Describe(errno)}");
            return new VirtgpuBlob(arg.BoHandle, arg.ResHandle, rounded);
        }
    }

    /// <summary>DRM_IOCTL_VIRTGPU_MAP: the offset at which this fd maps <paramref name="boHandle"/>.</summary>
    public ulong MapOffset(uint boHandle)
    {
        var arg = new DrmVirtgpuMap { Handle = boHandle };
        Check(Ioctl(VirtgpuIoctl.Map, &arg, "VIRTGPU_MAP"), "VIRTGPU_MAP");
        return arg.Offset;
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes of a (mappable) buffer object read-write and shared:
    /// VIRTGPU_MAP, then mmap on this fd. Unmap with <see cref="Unmap"/>.
    /// </summary>
    public nint Map(uint boHandle, ulong size)
    {
        if (size == 0)
            throw new ArgumentOutOfRangeException(nameof(size), "cannot map zero bytes");
        ulong offset = MapOffset(boHandle);
        if (offset > long.MaxValue)
            throw new VirtgpuException("mmap", 0, $"mmap of GEM handle {boHandle} on {Path}: offset 0x{offset:x} does not fit off_t");
        void* address = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, RequireFd("mmap"), (long)offset);
        if (address == Libc.MAP_FAILED)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new VirtgpuException("mmap", errno,
                $"mmap of {size} bytes of GEM handle {boHandle} failed on {Path}: {VirtgpuException.Describe(errno)}");
        }
        return (nint)address;
    }

    /// <summary>munmap of a mapping <see cref="Map"/> returned.</summary>
    public static void Unmap(nint address, ulong size)
    {
        if (address == 0 || size == 0)
            throw new ArgumentException($"cannot unmap {size} bytes at 0x{address:x}");
        if (Libc.Munmap((void*)address, (nuint)size) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new VirtgpuException("munmap", errno, $"munmap of {size} bytes at 0x{address:x} failed: {VirtgpuException.Describe(errno)}");
        }
    }

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_EXECBUFFER: submits <paramref name="command"/> to ring
    /// <paramref name="ringIdx"/> (the context's default when null), after the sync_file
    /// <paramref name="inFenceFd"/> when it is not -1 (the caller keeps and closes it). With
    /// <paramref name="outFence"/> it returns a new sync_file fd that signals when the host is done
    /// (close it with <see cref="CloseFd"/>); otherwise -1. <paramref name="boHandles"/> are the
    /// buffer objects whose implicit fences this submission joins (WSI only). Allocates nothing.
    /// </summary>
    public int Execbuffer(ReadOnlySpan<byte> command, uint? ringIdx = null, int inFenceFd = -1, bool outFence = false,
        ReadOnlySpan<uint> boHandles = default)
    {
        if (inFenceFd < -1)
            throw new ArgumentOutOfRangeException(nameof(inFenceFd), "an fd or -1");
        uint flags = 0;
        if (ringIdx.HasValue)
            flags |= (uint)VirtgpuExecbufferFlags.RingIdx;
        if (inFenceFd >= 0)
            flags |= (uint)VirtgpuExecbufferFlags.FenceFdIn;
        if (outFence)
            flags |= (uint)VirtgpuExecbufferFlags.FenceFdOut;
        int fd = RequireFd("VIRTGPU_EXECBUFFER");
        fixed (byte* cmd = command)
        fixed (uint* bos = boHandles)
        {
            DrmVirtgpuExecbuffer arg;
            int errno;
            // The struct is filled anew on every try: the kernel sets fence_fd to -1 before it
            // can fail (and drm_ioctl copies the struct back even then), so a retry after EINTR
            // would otherwise lose the in-fence.
            do
            {
                arg = new DrmVirtgpuExecbuffer
                {
                    Flags = flags,
                    Size = (uint)command.Length,
                    Command = VirtgpuIoctl.Pointer(cmd),
                    BoHandles = boHandles.IsEmpty ? 0 : VirtgpuIoctl.Pointer(bos),
                    NumBoHandles = (uint)boHandles.Length,
                    FenceFd = inFenceFd,
                    RingIdx = ringIdx.GetValueOrDefault(),
                };
                errno = Libc.Ioctl(fd, VirtgpuIoctl.Request(VirtgpuIoctl.Execbuffer), &arg) == -1
                    ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError()
                    : 0;
            } while (errno is Libc.EINTR or Libc.EAGAIN);
            if (errno != 0)
                throw VirtgpuException.Failed("VIRTGPU_EXECBUFFER", Path, errno);
            return outFence ? arg.FenceFd : -1;
        }
    }

    /// <summary>
    /// DRM_IOCTL_VIRTGPU_WAIT: true when <paramref name="boHandle"/> is idle; false when it is
    /// still busy (EBUSY: at once with <paramref name="noWait"/>, else after the kernel's 15 s).
    /// </summary>
    public bool Wait(uint boHandle, bool noWait = false)
    {
        var arg = new DrmVirtgpu3dWait { Handle = boHandle, Flags = noWait ? VirtgpuIoctl.WaitNoWait : 0 };
        int errno = Ioctl(VirtgpuIoctl.Wait, &arg, "VIRTGPU_WAIT");
        if (errno == Libc.EBUSY)
            return false;
        Check(errno, "VIRTGPU_WAIT");
        return true;
    }

    /// <summary>DRM_IOCTL_GEM_CLOSE: drops this fd's handle (the blob goes once nothing else holds it).</summary>
    public void GemClose(uint boHandle)
    {
        var arg = new DrmGemClose { Handle = boHandle };
        Check(Ioctl(VirtgpuIoctl.GemClose, &arg, "DRM_IOCTL_GEM_CLOSE"), "DRM_IOCTL_GEM_CLOSE");
    }

    /// <summary>
    /// DRM_IOCTL_PRIME_HANDLE_TO_FD: a dma-buf fd (close-on-exec; read-write, which mmap of the
    /// dma-buf needs, with <paramref name="readWrite"/>).
    /// </summary>
    public int PrimeHandleToFd(uint boHandle, bool readWrite)
    {
        var arg = new DrmPrimeHandle
        {
            Handle = boHandle,
            Flags = VirtgpuIoctl.DrmCloexec | (readWrite ? VirtgpuIoctl.DrmRdwr : 0),
            Fd = -1,
        };
        Check(Ioctl(VirtgpuIoctl.PrimeHandleToFd, &arg, "DRM_IOCTL_PRIME_HANDLE_TO_FD"), "DRM_IOCTL_PRIME_HANDLE_TO_FD");
        return arg.Fd;
    }

    /// <summary>DRM_IOCTL_PRIME_FD_TO_HANDLE: this fd's GEM handle for a dma-buf (the caller keeps <paramref name="fd"/>).</summary>
    public uint PrimeFdToHandle(int fd)
    {
        if (fd < 0)
            throw new ArgumentOutOfRangeException(nameof(fd), "not an fd");
        var arg = new DrmPrimeHandle { Fd = fd };
        Check(Ioctl(VirtgpuIoctl.PrimeFdToHandle, &arg, "DRM_IOCTL_PRIME_FD_TO_HANDLE"), "DRM_IOCTL_PRIME_FD_TO_HANDLE");
        return arg.Handle;
    }

    /// <summary>DRM_IOCTL_VIRTGPU_RESOURCE_INFO of a GEM handle (say, one imported from a dma-buf).</summary>
    public VirtgpuResourceInfo ResourceInfo(uint boHandle)
    {
        var arg = new DrmVirtgpuResourceInfo { BoHandle = boHandle };
        Check(Ioctl(VirtgpuIoctl.ResourceInfo, &arg, "VIRTGPU_RESOURCE_INFO"), "VIRTGPU_RESOURCE_INFO");
        return new VirtgpuResourceInfo(arg.BoHandle, arg.ResHandle, arg.Size, arg.BlobMem);
    }

    /// <summary>
    /// Waits for a sync_file (an execbuffer out-fence) to signal: true when it has, false when
    /// <paramref name="timeoutMs"/> passed first (-1: no limit). An interrupted wait restarts
    /// with the full timeout.
    /// </summary>
    public static bool WaitSyncFile(int fenceFd, int timeoutMs)
    {
        if (fenceFd < 0)
            throw new ArgumentOutOfRangeException(nameof(fenceFd), "not an fd");
        var p = new Libc.PollFd { fd = fenceFd, events = Libc.POLLIN };
        int r;
        int errno;
        do
        {
            r = Libc.Poll(&p, 1, timeoutMs);
            errno = r < 0 ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError() : 0;
        } while (r < 0 && errno is Libc.EINTR or Libc.EAGAIN);
        if (r < 0)
            throw new VirtgpuException("poll", errno, $"poll of sync_file fd {fenceFd} failed: {VirtgpuException.Describe(errno)}");
        if (r == 0)
            return false;
        const short PollErrHupNval = Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL;
        if ((p.revents & PollErrHupNval) != 0 && (p.revents & Libc.POLLIN) == 0)
            throw new VirtgpuException("poll", 0, $"poll of sync_file fd {fenceFd}: revents 0x{p.revents:x} (not a sync_file, or it failed)");
        return true;
    }

    /// <summary>close() of an fd this class handed out (a sync_file or a dma-buf).</summary>
    public static void CloseFd(int fd)
    {
        if (fd < 0)
            throw new ArgumentOutOfRangeException(nameof(fd), "not an fd");
        // Linux releases the fd even when close reports EINTR: never retry.
        if (Libc.Close(fd) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Libc.EINTR)
                throw new VirtgpuException("close", errno, $"close of fd {fd} failed: {VirtgpuException.Describe(errno)}");
        }
    }

    /// <summary>Closes the DRM fd (once; later calls do nothing, and methods then throw EBADF).</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            Libc.Close(fd);
    }

    public override string ToString() =>
        $"{Path} ({DriverName} {DriverVersion.Major}.{DriverVersion.Minor}.{DriverVersion.Patch}, fd {Fd})";

    private int RequireFd(string operation)
    {
        int fd = Volatile.Read(ref _fd);
        if (fd < 0)
            throw new VirtgpuException(operation, Libc.EBADF, $"{operation} on {Path}: the device is closed");
        return fd;
    }

    private int Ioctl(uint request, void* arg, string operation) => IoctlRetry(RequireFd(operation), request, arg);

    /// <summary>One ioctl, repeated on EINTR and EAGAIN (drmIoctl's rule); the errno, 0 on success.</summary>
    private static int IoctlRetry(int fd, uint request, void* arg)
    {
        nint req = VirtgpuIoctl.Request(request);
        while (true)
        {
            if (Libc.Ioctl(fd, req, arg) != -1)
                return 0;
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno is not (Libc.EINTR or Libc.EAGAIN))
                return errno;
        }
    }

    private void Check(int errno, string operation)
    {
        if (errno != 0)
            throw VirtgpuException.Failed(operation, Path, errno);
    }
}
