using System.Net.Sockets;
using Venus.Native;
using Venus.Transport.Virtgpu;

namespace Venus.Transport.Virtgpu.Tests;

/// <summary>
/// VirtgpuDevice without a virtio-gpu device: node discovery, the refusals of Open, and the error
/// paths of every ioctl (on /dev/null, which answers every ioctl with ENOTTY).
/// </summary>
public sealed class VirtgpuDeviceTests : IDisposable
{
    private const int ENOENT = 2, EBADF = 9, EISDIR = 21, ENOTTY = 25;

    private readonly string _temp = Directory.CreateTempSubdirectory("venus-virtgpu-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void RenderNodes_lists_only_render_nodes_sorted_by_number()
    {
        foreach (string name in new[] { "renderD129", "card0", "renderD128", "renderD", "renderDx", "renderD130.bak", "by-path" })
            File.WriteAllText(Path.Combine(_temp, name), "");
        File.WriteAllText(Path.Combine(_temp, "renderD1000"), "");
        File.WriteAllText(Path.Combine(_temp, "renderD99"), "");
        Directory.CreateDirectory(Path.Combine(_temp, "renderD7"));
        // A character device (as the real nodes are), reached through a symlink.
        File.CreateSymbolicLink(Path.Combine(_temp, "renderD130"), "/dev/null");

        IReadOnlyList<string> nodes = VirtgpuDevice.RenderNodes(_temp);

        Assert.Equal(new[] { "renderD99", "renderD128", "renderD129", "renderD130", "renderD1000" }.Select(n => Path.Combine(_temp, n)), nodes);
    }

    [Fact]
    public void RenderNodes_of_a_missing_folder_is_empty()
    {
        Assert.Empty(VirtgpuDevice.RenderNodes(Path.Combine(_temp, "no-such-dir")));
        Assert.Empty(VirtgpuDevice.RenderNodes(_temp));
    }

    [Fact]
    public void Open_of_a_node_that_is_not_DRM_says_so()
    {
        var e = Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open("/dev/null"));
        Assert.Equal(ENOTTY, e.Errno);
        Assert.Equal("DRM_IOCTL_VERSION", e.Operation);
        Assert.Contains("/dev/null", e.Message);
        Assert.Contains("(ENOTTY)", e.Message);
        Assert.Contains("not a DRM device", e.Message);
    }

    [Fact]
    public void Open_of_a_regular_file_fails_like_dev_null()
    {
        string file = Path.Combine(_temp, "renderD128");
        File.WriteAllText(file, "not a device");
        var e = Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open(file));
        Assert.Equal(ENOTTY, e.Errno);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void Open_of_a_missing_path_reports_ENOENT()
    {
        string path = Path.Combine(_temp, "renderD200");
        var e = Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open(path));
        Assert.Equal(ENOENT, e.Errno);
        Assert.Equal("open", e.Operation);
        Assert.Equal($"cannot open {path}: No such file or directory (ENOENT)", e.Message);
    }

    [Fact]
    public void Open_of_a_folder_reports_EISDIR()
    {
        var e = Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open(_temp));
        Assert.Equal(EISDIR, e.Errno);
        Assert.Contains(_temp, e.Message);
    }

    [Fact]
    public void Open_rejects_an_empty_path_with_ArgumentException()
    {
        Assert.ThrowsAny<ArgumentException>(() => VirtgpuDevice.Open(""));
    }

    [Fact]
    public void Failed_opens_leak_no_fd()
    {
        // Warm up first: the first calls load libraries and may open files once.
        Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open("/dev/null"));
        Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open(Path.Combine(_temp, "missing")));
        int before = OpenFdCount();
        for (int i = 0; i < 64; i++)
        {
            Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open("/dev/null"));
            Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open(Path.Combine(_temp, "missing")));
        }
        int after = OpenFdCount();
        Assert.True(after <= before + 2, $"{before} fds open before 128 failed opens, {after} after");
    }

    [Fact]
    public void Dispose_closes_the_fd_once()
    {
        int fd = OpenDevNull();
        var device = VirtgpuDevice.Adopt("/dev/null", fd, "virtio_gpu");
        Assert.Equal(fd, device.Fd);
        Assert.Equal("/dev/null", FdTarget(fd));
        device.Dispose();
        device.Dispose();
        Assert.Equal(-1, device.Fd);
        Assert.NotEqual("/dev/null", FdTarget(fd));

        var e = Assert.Throws<VirtgpuException>(() => device.Execbuffer([1, 2, 3, 4]));
        Assert.Equal(EBADF, e.Errno);
        Assert.Contains("closed", e.Message);
        Assert.Equal(EBADF, Assert.Throws<VirtgpuException>(() => device.GetParam(VirtgpuParam.ThreeDFeatures)).Errno);
    }

    [Fact]
    public void Every_ioctl_failure_is_a_VirtgpuException_with_operation_path_and_errno()
    {
        using VirtgpuDevice device = VirtgpuDevice.Adopt("/dev/null", OpenDevNull(), "virtio_gpu");

        var cases = new (string Operation, Action Call)[]
        {
            ("VIRTGPU_GETPARAM", () => device.GetParam(VirtgpuParam.ContextInit)),
            ("VIRTGPU_GETPARAM", () => device.TryGetParam(VirtgpuParam.ContextInit, out _)),
            ("VIRTGPU_GET_CAPS", () => device.GetCaps(VirtgpuIoctl.CapsetVenus, 0, new byte[160])),
            ("VIRTGPU_CONTEXT_INIT", () => device.ContextInit(VirtgpuIoctl.CapsetVenus, 64)),
            ("VIRTGPU_RESOURCE_CREATE_BLOB", () => device.CreateBlob(VirtgpuBlobMem.Host3d, VirtgpuBlobFlags.UseMappable, 4096, 0)),
            ("VIRTGPU_MAP", () => device.MapOffset(1)),
            ("VIRTGPU_MAP", () => device.Map(1, 4096)),
            ("VIRTGPU_EXECBUFFER", () => device.Execbuffer(new byte[16], ringIdx: 1, outFence: true, boHandles: [1, 2])),
            ("VIRTGPU_WAIT", () => device.Wait(1, noWait: true)),
            ("DRM_IOCTL_GEM_CLOSE", () => device.GemClose(1)),
            ("DRM_IOCTL_PRIME_HANDLE_TO_FD", () => device.PrimeHandleToFd(1, readWrite: true)),
            ("DRM_IOCTL_PRIME_FD_TO_HANDLE", () => device.PrimeFdToHandle(0)),
            ("VIRTGPU_RESOURCE_INFO", () => device.ResourceInfo(1)),
        };
        foreach ((string operation, Action call) in cases)
        {
            var e = Assert.Throws<VirtgpuException>(call);
            Assert.Equal(operation, e.Operation);
            Assert.Equal(ENOTTY, e.Errno);
            Assert.Contains("/dev/null", e.Message);
            Assert.EndsWith(": Inappropriate ioctl for device (ENOTTY)", e.Message);
        }

        Assert.Equal("VIRTGPU_CONTEXT_INIT failed on /dev/null: Inappropriate ioctl for device (ENOTTY)",
            Assert.Throws<VirtgpuException>(() => device.ContextInit([(VirtgpuContextParam.CapsetId, 4)])).Message);
    }

    [Fact]
    public void CreateBlob_rounds_the_size_up_to_whole_pages()
    {
        using VirtgpuDevice device = VirtgpuDevice.Adopt("/dev/null", OpenDevNull(), "virtio_gpu");
        // The failure message names the size that reached the kernel.
        Assert.Contains("4096 bytes", Assert.Throws<VirtgpuException>(() => device.CreateBlob(VirtgpuBlobMem.Host3d, VirtgpuBlobFlags.UseMappable, 1, 0)).Message);
        Assert.Contains("8192 bytes", Assert.Throws<VirtgpuException>(() => device.CreateBlob(VirtgpuBlobMem.Host3d, VirtgpuBlobFlags.UseMappable, 4097, 7)).Message);
        Assert.Contains("4096 bytes", Assert.Throws<VirtgpuException>(() => device.CreateBlob(VirtgpuBlobMem.Guest, VirtgpuBlobFlags.None, 4096, 0)).Message);
    }

    [Fact]
    public void Arguments_no_kernel_accepts_are_ArgumentExceptions()
    {
        using VirtgpuDevice device = VirtgpuDevice.Adopt("/dev/null", OpenDevNull(), "virtio_gpu");
        Assert.ThrowsAny<ArgumentException>(() => device.CreateBlob(VirtgpuBlobMem.Host3d, VirtgpuBlobFlags.UseMappable, 0, 0));
        Assert.ThrowsAny<ArgumentException>(() => device.CreateBlob(VirtgpuBlobMem.Host3d, VirtgpuBlobFlags.UseMappable, ulong.MaxValue, 0));
        Assert.ThrowsAny<ArgumentException>(() => device.GetCaps(4, 0, Span<byte>.Empty));
        Assert.ThrowsAny<ArgumentException>(() => device.ContextInit([]));
        Assert.ThrowsAny<ArgumentException>(() => device.ContextInit(new (VirtgpuContextParam, ulong)[17]));
        Assert.ThrowsAny<ArgumentException>(() => device.Map(1, 0));
        Assert.ThrowsAny<ArgumentException>(() => device.Execbuffer([1], inFenceFd: -2));
        Assert.ThrowsAny<ArgumentException>(() => device.PrimeFdToHandle(-1));
        Assert.ThrowsAny<ArgumentException>(() => VirtgpuDevice.Unmap(0, 4096));
        Assert.ThrowsAny<ArgumentException>(() => VirtgpuDevice.WaitSyncFile(-1, 0));
        Assert.ThrowsAny<ArgumentException>(() => VirtgpuDevice.CloseFd(-1));
    }

    [Fact]
    public void WaitSyncFile_reports_readiness_timeout_and_a_bad_fd()
    {
        int devNull = OpenDevNull();
        try
        {
            Assert.True(VirtgpuDevice.WaitSyncFile(devNull, 0));
        }
        finally
        {
            VirtgpuDevice.CloseFd(devNull);
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        Assert.False(VirtgpuDevice.WaitSyncFile((int)socket.Handle, 20));

        // An fd number nothing has open (the closed /dev/null's number may be the socket's now).
        const int NotOpen = 1 << 30;
        var e = Assert.Throws<VirtgpuException>(() => VirtgpuDevice.WaitSyncFile(NotOpen, 0));
        Assert.Equal("poll", e.Operation);
        Assert.Equal(EBADF, Assert.Throws<VirtgpuException>(() => VirtgpuDevice.CloseFd(NotOpen)).Errno);
    }

    [Fact]
    public void Errno_text_is_strerror_and_the_name()
    {
        Assert.Equal("Invalid argument (EINVAL)", VirtgpuException.Describe(22));
        Assert.Equal("Inappropriate ioctl for device (ENOTTY)", VirtgpuException.Describe(25));
        Assert.Equal("Device or resource busy (EBUSY)", VirtgpuException.Describe(16));
        Assert.StartsWith("Unknown error", VirtgpuException.Describe(4000));
        Assert.EndsWith("(errno 4000)", VirtgpuException.Describe(4000));
    }

    [Fact]
    public void The_kind_of_a_failure_is_the_transports_reading_of_its_errno()
    {
        Assert.Equal(VirtgpuErrorKind.OutOfMemory, new VirtgpuException("VIRTGPU_RESOURCE_CREATE_BLOB", 12, "no memory").Kind);
        Assert.Equal(VirtgpuErrorKind.Failed, new VirtgpuException("VIRTGPU_EXECBUFFER", 22, "bad").Kind);
        Assert.Equal(VirtgpuErrorKind.Failed, new VirtgpuException("DRM_IOCTL_VERSION", 0, "not virtio_gpu").Kind);
        Assert.Equal(VirtgpuErrorKind.Failed, Assert.Throws<VirtgpuException>(() => VirtgpuDevice.Open("/dev/null")).Kind);
    }

    private static int OpenDevNull()
    {
        int fd = Libc.Open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        Assert.True(fd >= 0, "cannot open /dev/null");
        return fd;
    }

    private static int OpenFdCount() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    private static string? FdTarget(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
