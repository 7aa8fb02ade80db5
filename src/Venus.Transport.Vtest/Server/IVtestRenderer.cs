namespace Venus.Transport.Vtest.Server;

/// <summary>
/// The host renderer behind one vtest client connection (= one Venus context), as
/// <see cref="VtestServer"/> drives it. The server does the vtest protocol (framing, validation,
/// replies, fd passing, timeline syncs and SYNC_WAIT eventfds); the renderer does what
/// virglrenderer's <c>virgl_renderer_*</c> calls do for that context.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> Every method, <see cref="IDisposable.Dispose"/> included, is called on the
/// client's own server thread, one call at a time: an instance is never entered concurrently by
/// the server. Different clients' renderers run on different threads at the same time.</para>
/// <para><b>Failures.</b> Any exception from any method ends that client only: the server logs one
/// line with the client id, its name and the exception's message, closes the connection and
/// disposes the renderer (as virglrenderer disconnects a client after any failed command,
/// fact sheet §6.1). Throw <see cref="VtestRendererException"/> for an intended refusal; other
/// exception types are logged with their type name as renderer bugs.</para>
/// <para><b>Lifetime.</b> <see cref="IDisposable.Dispose"/> is called exactly once, when the client
/// disconnects, is dropped, or the server is disposed, even if an earlier method threw. It must
/// free everything the context owns (resources still referenced, rings, threads): the server does
/// not send <see cref="ResourceUnref"/> for resources left behind by a vanished client.</para>
/// </remarks>
public interface IVtestRenderer : IDisposable
{
    /// <summary>
    /// GET_CAPSET: the capset bytes for (<paramref name="capsetId"/>, <paramref name="version"/>),
    /// a whole number of dwords (virglrenderer fails the call otherwise). Empty = unsupported
    /// id or version: the server replies <c>valid = 0</c>. May be called before
    /// <see cref="ContextInit"/>, any number of times. The span is copied before the next call.
    /// </summary>
    ReadOnlySpan<byte> GetCapset(uint capsetId, uint version);

    /// <summary>
    /// CONTEXT_INIT: the client makes this connection a context of <paramref name="capsetId"/>
    /// (the server passes only <see cref="Venus.Protocol.VenusCapset.CapsetId"/> = 4, once). Throw
    /// <see cref="VtestRendererException"/> to refuse; the client is then dropped.
    /// Every method below is called only after this one returned.
    /// </summary>
    void ContextInit(uint capsetId);

    /// <summary>
    /// RESOURCE_CREATE_BLOB. <paramref name="blobId"/> 0 with <paramref name="flags"/> exactly
    /// <see cref="VtestBlobFlags.Mappable"/> asks for shared memory the renderer allocates
    /// (Mesa's rings and reply pools; e.g. <see cref="VtestSharedMemory"/>); otherwise
    /// <paramref name="blobId"/> names renderer memory (a VkDeviceMemory id). The server has
    /// checked that <paramref name="type"/> is one of the three blob types and
    /// <paramref name="size"/> is not 0; the rest is the renderer's to validate.
    /// </summary>
    /// <returns>
    /// A resource id that is not 0 and not live in this context, and an fd (shm/memfd or dma-buf)
    /// that the server sends to the client with SCM_RIGHTS. <b>The fd is handed over</b>: the
    /// server closes it after sending it (or when the send fails); the renderer keeps its own
    /// copy (e.g. a dup) for as long as it needs the memory.
    /// </returns>
    (uint ResourceId, int Fd) CreateBlob(VtestBlobType type, VtestBlobFlags flags, ulong size, ulong blobId);

    /// <summary>
    /// RESOURCE_UNREF of a resource this context created and has not unreferenced yet (unknown
    /// ids are ignored by the server, as virglrenderer ignores them).
    /// </summary>
    void ResourceUnref(uint resourceId);

    /// <summary>
    /// SUBMIT_CMD2: runs a venus command stream (the virtqueue decoder). <paramref name="stream"/>
    /// is valid only during the call; copy what must outlive it. <paramref name="ringIdx"/> is the
    /// batch's timeline (0 = the CPU timeline, 1..63 = device queues bound with
    /// VkDeviceQueueTimelineInfoMESA), always below <see cref="VtestProtocol.MaxTimelineCount"/> (64).
    /// </summary>
    /// <param name="retired">
    /// Call once all work submitted so far on timeline <paramref name="ringIdx"/>, this stream
    /// included, has retired (for ring 0: once the stream has been processed). May be called from
    /// any thread, before <see cref="Submit"/> returns or later, and also after
    /// <see cref="IDisposable.Dispose"/> (then it does nothing). Calling it for a later
    /// submission implies every earlier one on the same timeline, as a retired fence does in
    /// virglrenderer; extra calls are ignored. Never blocks on the client. When the batch lacked
    /// the RING_IDX flag the server has already signalled its syncs after <see cref="Submit"/>
    /// returned and ignores the call.
    /// </param>
    void Submit(ReadOnlySpan<byte> stream, uint ringIdx, Action retired);
}

/// <summary>Makes one <see cref="IVtestRenderer"/> per client connection.</summary>
public interface IVtestRendererFactory
{
    /// <summary>
    /// Called on the client's thread when its CREATE_RENDERER arrives. Throwing drops that client.
    /// </summary>
    /// <param name="clientId">The server's id for the connection (1, 2, ...), also used in its log lines.</param>
    /// <param name="clientName">The name the client sent (Mesa: its process name), up to its first NUL.</param>
    IVtestRenderer Create(int clientId, string clientName);
}

/// <summary>
/// A renderer's intended refusal (bad capset, unknown blob id, decode failure that must end the
/// context, ...): the server drops that client and logs the message.
/// </summary>
public class VtestRendererException : Exception
{
    public VtestRendererException(string message)
        : base(message)
    {
    }

    public VtestRendererException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
