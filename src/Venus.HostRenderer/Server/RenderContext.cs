using Venus.Native;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Transport.RenderServer;

namespace Venus.HostRenderer.Server;

/// <summary>
/// One render-server context = one Venus context: the same <see cref="HostContext"/> as a vtest
/// client's, reached through virglrenderer's render protocol instead of vtest.
/// </summary>
internal sealed class RenderContext : IRenderContext
{
    static readonly Action Nothing = static () => { };
    readonly HostContext _ctx;
    bool _initialized;

    public RenderContext(HostContext ctx) => _ctx = ctx;

    public void Init(uint capsetId)
    {
        if (capsetId != RenderProtocol.CapsetVenus) throw new RenderContextException($"capset {capsetId} is not venus (4)");
        _initialized = true;
    }

    void ThrowIfFatal()
    {
        if (!_initialized) throw new RenderContextException("not initialized");
        if (_ctx.IsFatal) throw new RenderContextException($"context is fatal: {_ctx.FatalReason}");
    }

    public RenderResource CreateResource(uint resourceId, ulong blobId, ulong size, uint flags)
    {
        ThrowIfFatal();
        const uint Host3d = 2;
        // The VMM passes VIRGL_RENDERER_BLOB_FLAG_*: shared memory is MAPPABLE only; device memory may add SHAREABLE/CROSS_DEVICE.
        var r = _ctx.CreateBlob(Host3d, blobId == 0 ? flags : RenderProtocol.BlobFlagMappable, size, blobId, out var error, resourceId, exactFile: true)
            ?? throw new RenderContextException(error ?? "refused");
        int fd = Libc.Dup(r.Fd);
        if (fd < 0) { _ctx.UnrefResource(r.Id); throw new RenderContextException("dup failed"); }
        // libvirglrenderer takes an SHM fd only when the file is exactly the blob's size. Device memory
        // is a memfd of whole import-alignment units, so a smaller blob of it goes as DMABUF, which the
        // library maps as it is (the fd is still the memfd).
        var type = Posix.FileSize(fd) == (long)size ? RenderFdType.Shm : RenderFdType.DmaBuf;
        return new RenderResource(fd, type, RenderMapInfo.Cached);
    }

    public void ImportResource(uint resourceId, RenderFdType type, int fd, ulong size)
    {
        ThrowIfFatal();
        if (_ctx.ImportResource(resourceId, fd, size, out var error) == null)
            throw new RenderContextException($"IMPORT_RESOURCE {resourceId} ({type}, {size} bytes): {error}");
    }

    public void DestroyResource(uint resourceId) => _ctx.UnrefResource(resourceId);

    public void Submit(ReadOnlySpan<byte> stream)
    {
        ThrowIfFatal();
        _ctx.Submit(stream, 0, Nothing);
        ThrowIfFatal();
    }

    public void SubmitFence(uint ringIndex, Action retired)
    {
        ThrowIfFatal();
        _ctx.Submit(ReadOnlySpan<byte>.Empty, ringIndex, retired);
        ThrowIfFatal();
    }

    public void Dispose() => _ctx.Dispose();
}

internal sealed class RenderContextFactory(VulkanLibrary vk, HostOptions options) : IRenderContextFactory
{
    public IRenderContext Create(uint contextId, string name) => new RenderContext(new HostContext(vk, options, name.Length > 0 ? $"render-{contextId}-{name}" : $"render-{contextId}"));
}
