namespace Venus.Transport.Vtest.Server;

/// <summary>
/// Limits and logging of a <see cref="VtestServer"/>. The defaults admit everything Mesa sends
/// and bound what a hostile client can make the server allocate or hold.
/// </summary>
public sealed record VtestServerOptions
{
    /// <summary>Connections served at once; one more is accepted, logged and closed at once.</summary>
    public int MaxClients { get; init; } = 64;

    /// <summary>Largest SUBMIT_CMD2 payload in bytes (batch header, stream and syncs).</summary>
    public int MaxSubmitBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Largest CREATE_RENDERER name in bytes, NUL included (virglrenderer: 1 MiB; Mesa sends its process name).</summary>
    public int MaxRendererNameBytes { get; init; } = 64 * 1024;

    /// <summary>Live syncs (SYNC_CREATE minus SYNC_UNREF) one client may hold.</summary>
    public int MaxSyncsPerClient { get; init; } = 64 * 1024;

    /// <summary>Syncs one SYNC_WAIT may name.</summary>
    public int MaxSyncWaitEntries { get; init; } = 64 * 1024;

    /// <summary>Syncs one SUBMIT_CMD2 batch may signal.</summary>
    public int MaxSubmitSyncs { get; init; } = 64 * 1024;

    /// <summary>
    /// SYNC_WAITs of one client the server still watches (each holds an eventfd until it is
    /// satisfied or its timeout passed); one more drops the client.
    /// </summary>
    public int MaxPendingSyncWaitsPerClient { get; init; } = 1024;

    /// <summary>Largest capset a renderer may return (virglrenderer's venus capset is 156 bytes).</summary>
    public int MaxCapsetBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// How long a reply may stay unsendable (a client that stops reading while the socket buffer
    /// is full) before the client is dropped. <see cref="Timeout.InfiniteTimeSpan"/> = never.
    /// </summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long <see cref="VtestServer.Dispose"/> waits for each client thread to finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Receives one line per event (client connected, disconnected, dropped with the reason,
    /// refused). Called from any server thread; must not throw (exceptions are swallowed).
    /// Null = standard error.
    /// </summary>
    public Action<string>? Log { get; init; }

    /// <summary>GET_PARAM SHARES_HOST_VISIBLE_MEMORY answers 1 (the renderer shares host-visible memory as mappable blobs).</summary>
    public bool SharesHostVisibleMemory { get; init; }

    /// <summary>
    /// Takes over an accepted connection instead of serving it on a thread of this process (the
    /// host renderer hands each client to a worker process, so a driver crash ends one client
    /// only). Receives the connection fd (close-on-exec) and the client id; owns the fd from then
    /// on. Must not throw; null = serve in-process.
    /// </summary>
    public Action<int, int>? HandOff { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxClients, 1, nameof(MaxClients));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSubmitBytes, 7 * 4, nameof(MaxSubmitBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRendererNameBytes, 1, nameof(MaxRendererNameBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxSyncsPerClient, nameof(MaxSyncsPerClient));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxSyncWaitEntries, nameof(MaxSyncWaitEntries));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxSyncWaitEntries, 16 * 1024 * 1024, nameof(MaxSyncWaitEntries));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxSubmitSyncs, nameof(MaxSubmitSyncs));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPendingSyncWaitsPerClient, nameof(MaxPendingSyncWaitsPerClient));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxCapsetBytes, nameof(MaxCapsetBytes));
        if (SendTimeout != Timeout.InfiniteTimeSpan)
            ArgumentOutOfRangeException.ThrowIfLessThan(SendTimeout, TimeSpan.FromMilliseconds(1), nameof(SendTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
    }
}
