using Venus.HostRenderer.Context;

namespace Venus.HostRenderer;

/// <summary>
/// The hand-written half of the host: commands whose Vulkan semantics need more than decode, call,
/// reply (venus-protocol.md §9). One partial file per object family.
/// </summary>
internal sealed unsafe partial class Handlers : IHandlers
{
    readonly HostContext _ctx;

    public Handlers(HostContext ctx) => _ctx = ctx;

    bool Fatal(string reason)
    {
        _ctx.Fatal(reason);
        return false;
    }
}
