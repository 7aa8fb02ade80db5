using Venus.Native;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol;
using Venus.Transport.Vtest;
using Venus.Transport.Vtest.Server;

namespace Venus.HostRenderer.Server;

/// <summary>One vtest client = one Venus context.</summary>
internal sealed class VtestRenderer : IVtestRenderer
{
    static readonly byte[] Capset = HostContext.BuildCapset();
    readonly HostContext _ctx;
    bool _initialized;

    public VtestRenderer(HostContext ctx) => _ctx = ctx;

    public ReadOnlySpan<byte> GetCapset(uint capsetId, uint version)
        => capsetId == VenusCapset.CapsetId && version == VenusCapset.CapsetVersion ? Capset : ReadOnlySpan<byte>.Empty;

    public void ContextInit(uint capsetId)
    {
        if (capsetId != VenusCapset.CapsetId) throw new VtestRendererException($"capset {capsetId} is not venus (4)");
        _initialized = true;
    }

    void ThrowIfFatal()
    {
        if (_ctx.IsFatal) throw new VtestRendererException($"context is fatal: {_ctx.FatalReason}");
    }

    public (uint ResourceId, int Fd) CreateBlob(VtestBlobType type, VtestBlobFlags flags, ulong size, ulong blobId)
    {
        ThrowIfFatal();
        var r = _ctx.CreateBlob((uint)type, (uint)flags, size, blobId, out var error)
            ?? throw new VtestRendererException($"RESOURCE_CREATE_BLOB: {error}");
        int fd = Libc.Dup(r.Fd);
        if (fd < 0) { _ctx.UnrefResource(r.Id); throw new VtestRendererException("RESOURCE_CREATE_BLOB: dup failed"); }
        return (r.Id, fd);
    }

    public void ResourceUnref(uint resourceId) => _ctx.UnrefResource(resourceId);

    public void Submit(ReadOnlySpan<byte> stream, uint ringIdx, Action retired)
    {
        if (!_initialized) throw new VtestRendererException("SUBMIT_CMD2 before CONTEXT_INIT");
        ThrowIfFatal();
        _ctx.Submit(stream, ringIdx, retired);
        ThrowIfFatal();
    }

    public void Dispose() => _ctx.Dispose();
}

internal sealed class VtestRendererFactory : IVtestRendererFactory
{
    readonly VulkanLibrary _vk;
    readonly HostOptions _options;

    public VtestRendererFactory(VulkanLibrary vk, HostOptions options)
    {
        _vk = vk;
        _options = options;
    }

    public IVtestRenderer Create(int clientId, string clientName)
        => new VtestRenderer(new HostContext(_vk, _options, $"{clientId}-{clientName}"));
}
