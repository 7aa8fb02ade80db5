namespace Venus.Protocol;

/// <summary>Blob sizes: shared memory travels in whole pages (Mesa rounds every host-visible allocation and blob up to 4096).</summary>
public static class VenusBlob
{
    public const ulong Alignment = 4096;

    /// <summary>The largest size <see cref="RoundUp"/> takes without overflowing.</summary>
    public const ulong MaxRoundable = ulong.MaxValue - (Alignment - 1);

    /// <summary><paramref name="size"/> rounded up to whole pages; the caller checks <c>size &lt;= MaxRoundable</c> first.</summary>
    public static ulong RoundUp(ulong size) => (size + Alignment - 1) & ~(Alignment - 1);
}
