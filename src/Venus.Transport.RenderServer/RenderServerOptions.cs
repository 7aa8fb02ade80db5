namespace Venus.Transport.RenderServer;

/// <summary>Limits and hooks of the render server and its context connections.</summary>
public sealed class RenderServerOptions
{
    /// <summary>Where log lines go (one line per event, never a stack trace).</summary>
    public Action<string> Log { get; init; } = Console.Error.WriteLine;

    /// <summary>
    /// Largest SUBMIT_CMD accepted. QEMU hands on what the guest's EXECBUFFER carried; a larger
    /// submit ends the context.
    /// </summary>
    public int MaxSubmitBytes { get; init; } = 16 << 20;

    /// <summary>Most contexts alive at once on one main socket; CREATE_CONTEXT beyond it is refused.</summary>
    public int MaxContexts { get; init; } = 1024;

    internal void Validate()
    {
        if (MaxSubmitBytes < RenderProtocol.SubmitCmdInline) throw new ArgumentOutOfRangeException(nameof(MaxSubmitBytes));
        if (MaxContexts < 1) throw new ArgumentOutOfRangeException(nameof(MaxContexts));
        ArgumentNullException.ThrowIfNull(Log);
    }
}
