namespace Venus.Protocol.Wire;

/// <summary>
/// What the peer's protocol understands: its vk.xml version and its extension mask (capset,
/// venus-protocol.md §5). Encoders drop pNext structs the peer would reject (§1.5).
/// </summary>
public sealed class VnProtocolFilter
{
    readonly uint[] _mask;
    public uint ApiVersion { get; }

    /// <param name="apiVersion">the peer's vk_xml_version</param>
    /// <param name="extensionMask">bit N of word N/32 = extension number N; bit 0 = mask valid</param>
    public VnProtocolFilter(uint apiVersion, ReadOnlySpan<uint> extensionMask)
    {
        ApiVersion = apiVersion;
        _mask = extensionMask.ToArray();
    }

    /// <summary>
    /// The filter for a peer that sent <paramref name="capset"/>: the lower of its vk.xml version and
    /// ours (we encode nothing newer than we know), and its extension mask, all extensions when the
    /// mask is not valid (as Mesa reads it). The ICD and the CLI both take their filter from here.
    /// </summary>
    public static VnProtocolFilter FromCapset(VenusCapset capset)
    {
        Span<uint> mask = stackalloc uint[VenusExtensionMask.WordCount];
        if (capset.ExtensionMask.IsValid)
            capset.ExtensionMask.CopyTo(mask);
        else
            mask.Fill(uint.MaxValue);
        return new VnProtocolFilter(Math.Min(capset.VkXmlVersion, VenusProtocolInfo.VkXmlVersion), mask);
    }

    /// <summary>Extension number N is known to the peer (an invalid mask means "all", as Mesa reads it).</summary>
    public bool HasExtension(int number)
    {
        if (_mask.Length == 0 || (_mask[0] & 1) == 0) return true;
        int w = number >> 5;
        return w < _mask.Length && (_mask[w] & (1u << (number & 31))) != 0;
    }

    public bool HasVersion(uint version) => ApiVersion >= version;
}
