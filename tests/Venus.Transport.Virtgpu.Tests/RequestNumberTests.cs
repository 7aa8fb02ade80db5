using Venus.Transport.Virtgpu;

namespace Venus.Transport.Virtgpu.Tests;

/// <summary>
/// The request numbers against the values of venus-protocol.md §7 (x86_64), without gcc: the
/// header probe checks the same numbers against the kernel's headers.
/// </summary>
public sealed class RequestNumberTests
{
    public static TheoryData<string, uint, uint> Numbers => new()
    {
        { "DRM_IOCTL_VIRTGPU_MAP", VirtgpuIoctl.Map, 0xc0106441 },
        { "DRM_IOCTL_VIRTGPU_EXECBUFFER", VirtgpuIoctl.Execbuffer, 0xc0406442 },
        { "DRM_IOCTL_VIRTGPU_GETPARAM", VirtgpuIoctl.Getparam, 0xc0106443 },
        { "DRM_IOCTL_VIRTGPU_RESOURCE_INFO", VirtgpuIoctl.ResourceInfo, 0xc0106445 },
        { "DRM_IOCTL_VIRTGPU_WAIT", VirtgpuIoctl.Wait, 0xc0086448 },
        { "DRM_IOCTL_VIRTGPU_GET_CAPS", VirtgpuIoctl.GetCaps, 0xc0186449 },
        { "DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB", VirtgpuIoctl.ResourceCreateBlob, 0xc030644a },
        { "DRM_IOCTL_VIRTGPU_CONTEXT_INIT", VirtgpuIoctl.ContextInit, 0xc010644b },
        { "DRM_IOCTL_GEM_CLOSE", VirtgpuIoctl.GemClose, 0x40086409 },
        { "DRM_IOCTL_PRIME_HANDLE_TO_FD", VirtgpuIoctl.PrimeHandleToFd, 0xc00c642d },
        { "DRM_IOCTL_PRIME_FD_TO_HANDLE", VirtgpuIoctl.PrimeFdToHandle, 0xc00c642e },
        { "DRM_IOCTL_VERSION", VirtgpuIoctl.Version, 0xc0406400 },
    };

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Request_number_is_the_x86_64_value(string name, uint ours, uint expected)
    {
        Assert.True(ours == expected, $"{name}: 0x{ours:x8}, expected 0x{expected:x8}");
    }

    [Fact]
    public void Ioc_encodes_direction_size_type_and_number()
    {
        Assert.Equal(0xc0106441u, VirtgpuIoctl.Ioc(3, (byte)'d', 0x41, 16));
        Assert.Equal(0x40086409u, VirtgpuIoctl.Ioc(1, (byte)'d', 0x09, 8));
        Assert.Equal(0x00006400u, VirtgpuIoctl.Io((byte)'d', 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => VirtgpuIoctl.Ioc(3, (byte)'d', 0x41, 0x4000));
        Assert.Throws<ArgumentOutOfRangeException>(() => VirtgpuIoctl.Ioc(3, (byte)'d', 0x100, 16));
    }

    [Fact]
    public unsafe void Struct_sizes_are_the_LP64_sizes()
    {
        Assert.Equal(16, sizeof(DrmVirtgpuMap));
        Assert.Equal(64, sizeof(DrmVirtgpuExecbuffer));
        Assert.Equal(16, sizeof(DrmVirtgpuGetparam));
        Assert.Equal(16, sizeof(DrmVirtgpuResourceInfo));
        Assert.Equal(8, sizeof(DrmVirtgpu3dWait));
        Assert.Equal(24, sizeof(DrmVirtgpuGetCaps));
        Assert.Equal(48, sizeof(DrmVirtgpuResourceCreateBlob));
        Assert.Equal(16, sizeof(DrmVirtgpuContextInit));
        Assert.Equal(16, sizeof(DrmVirtgpuContextSetParam));
        Assert.Equal(8, sizeof(DrmGemClose));
        Assert.Equal(12, sizeof(DrmPrimeHandle));
        Assert.Equal(64, sizeof(DrmVersion));

        // A few offsets by pointer difference, independent of Marshal.OffsetOf.
        DrmVirtgpuExecbuffer e = default;
        byte* b = (byte*)&e;
        Assert.Equal(32, (byte*)&e.RingIdx - b);
        Assert.Equal(28, (byte*)&e.FenceFd - b);
        Assert.Equal(56, (byte*)&e.OutSyncobjs - b);
        DrmVirtgpuResourceCreateBlob c = default;
        Assert.Equal(28, (byte*)&c.CmdSize - (byte*)&c);
        Assert.Equal(40, (byte*)&c.BlobId - (byte*)&c);
        DrmVersion v = default;
        Assert.Equal(16, (byte*)&v.NameLen - (byte*)&v);
        Assert.Equal(56, (byte*)&v.Desc - (byte*)&v);
    }
}
