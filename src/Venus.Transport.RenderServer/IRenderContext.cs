namespace Venus.Transport.RenderServer;

/// <summary>
/// The renderer behind one render-server context (one guest Venus context), as
/// <see cref="RenderContextConnection"/> drives it. The connection does the protocol (packets,
/// validation, fds, the fence shmem); the renderer does what virglrenderer's Venus context does.
/// </summary>
/// <remarks>
/// Every method is called on the connection's thread, one at a time. Any exception ends that context
/// only: the connection logs one line, closes its socket (libvirglrenderer then retires the context's
/// fences and goes on) and disposes the renderer. Throw <see cref="RenderContextException"/> for an
/// intended refusal.
/// </remarks>
public interface IRenderContext : IDisposable
{
    /// <summary>Context INIT: <paramref name="capsetId"/> is the context's capset (4 = Venus).</summary>
    void Init(uint capsetId);

    /// <summary>
    /// CREATE_RESOURCE: a resource of id <paramref name="resourceId"/> (chosen by the VMM, not live in
    /// this context). <paramref name="blobId"/> 0 asks for shared memory; otherwise it names renderer
    /// memory (a VkDeviceMemory id). The returned fd is handed over: the connection sends and closes it.
    /// For <see cref="RenderFdType.Shm"/> the fd must be a memfd that allows sealing, not write-sealed,
    /// of exactly <paramref name="size"/> bytes (libvirglrenderer checks this).
    /// </summary>
    RenderResource CreateResource(uint resourceId, ulong blobId, ulong size, uint flags);

    /// <summary>IMPORT_RESOURCE of a dma-buf or shm fd the VMM made elsewhere; the fd is handed over.</summary>
    void ImportResource(uint resourceId, RenderFdType type, int fd, ulong size);

    /// <summary>DESTROY_RESOURCE (the VMM only sends ids it created or imported here).</summary>
    void DestroyResource(uint resourceId);

    /// <summary>SUBMIT_CMD: a Venus command stream, valid during the call only.</summary>
    void Submit(ReadOnlySpan<byte> stream);

    /// <summary>
    /// SUBMIT_FENCE: call <paramref name="retired"/> once all work submitted so far on timeline
    /// <paramref name="ringIndex"/> (below <see cref="RenderProtocol.TimelineCount"/>) has finished;
    /// it may be called on any thread, now or later, and after <see cref="IDisposable.Dispose"/>.
    /// </summary>
    void SubmitFence(uint ringIndex, Action retired);
}

/// <summary>A created resource: the fd to send (handed over), its type and how the VMM should map it.</summary>
public readonly record struct RenderResource(int Fd, RenderFdType FdType, RenderMapInfo MapInfo);

/// <summary>Makes one <see cref="IRenderContext"/> per context.</summary>
public interface IRenderContextFactory
{
    /// <param name="contextId">The VMM's context id (the guest's).</param>
    /// <param name="name">The debug name the VMM gave (the guest process's name), for logs.</param>
    IRenderContext Create(uint contextId, string name);
}

/// <summary>A renderer's intended refusal: that context ends with this message in the log.</summary>
public class RenderContextException : Exception
{
    public RenderContextException(string message) : base(message) { }
}
