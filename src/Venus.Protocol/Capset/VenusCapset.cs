using System.Buffers.Binary;

namespace Venus.Protocol;

/// <summary>
/// <c>struct virgl_renderer_capset_venus</c> (capset id 4, version 0; fact sheet §5): what the
/// host renderer tells the guest before any venus command is sent. 160 bytes, little-endian
/// <c>uint32_t</c> fields in C order.
/// </summary>
public readonly record struct VenusCapset
{
    public const uint CapsetId = 4;
    public const uint CapsetVersion = 0;

    /// <summary>Mesa's struct size. Older hosts send 156 bytes (no <c>use_guest_vram</c>).</summary>
    public const int Size = 160;

    private const int WireFormatVersionOffset = 0;
    private const int VkXmlVersionOffset = 4;
    private const int CommandSerializationSpecOffset = 8;
    private const int VenusProtocolSpecOffset = 12;
    private const int SupportsBlobId0Offset = 16;
    private const int ExtensionMaskOffset = 20;
    private const int AllowVkWaitSyncsOffset = 148;
    private const int SupportsMultipleTimelinesOffset = 152;
    private const int UseGuestVramOffset = 156;

    /// <summary>Mesa requires exactly 1 (virglrenderer ≥ 2023); Debian's 0.10.4 sent 0.</summary>
    public uint WireFormatVersion { get; init; }

    /// <summary>The renderer's vk.xml version, a packed Vulkan version (see <see cref="FormatVulkanVersion"/>).</summary>
    public uint VkXmlVersion { get; init; }

    public uint VkExtCommandSerializationSpecVersion { get; init; }

    public uint VkMesaVenusProtocolSpecVersion { get; init; }

    /// <summary>The host can create blob_id-0 (shared-memory) HOST3D blobs, which the guest uses for rings and reply buffers.</summary>
    public bool SupportsBlobId0 { get; init; }

    public VenusExtensionMask ExtensionMask { get; init; }

    /// <summary>If false the guest turns off fence feedback.</summary>
    public bool AllowVkWaitSyncs { get; init; }

    /// <summary>Queues get their own ring_idx (1..63) and submissions carry it (fact sheet §5, §6.3).</summary>
    public bool SupportsMultipleTimelines { get; init; }

    /// <summary>virtio-gpu only; absent (zero) in a 156-byte capset.</summary>
    public bool UseGuestVram { get; init; }

    /// <summary>The raw extension bit; check <see cref="VenusExtensionMask.IsValid"/> first.</summary>
    public bool HasExtension(int number) => ExtensionMask.Contains(number);

    public int ExtensionCount => ExtensionMask.Count;

    /// <summary>
    /// Parses a capset as the host sent it. A shorter capset is zero-extended and bytes past
    /// <see cref="Size"/> are ignored, as Mesa does (<c>memcpy</c> of min(size, sizeof)).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out VenusCapset capset, out string? error)
    {
        capset = default;
        if (data.IsEmpty)
        {
            error = "the venus capset is empty";
            return false;
        }
        if (data.Length % 4 != 0)
        {
            error = $"the venus capset is {data.Length} bytes, not a whole number of 32-bit words";
            return false;
        }

        Span<byte> full = stackalloc byte[Size];
        full.Clear();
        data[..Math.Min(data.Length, Size)].CopyTo(full);

        Span<uint> mask = stackalloc uint[VenusExtensionMask.WordCount];
        for (int i = 0; i < mask.Length; i++)
            mask[i] = ReadU32(full, ExtensionMaskOffset + 4 * i);

        capset = new VenusCapset
        {
            WireFormatVersion = ReadU32(full, WireFormatVersionOffset),
            VkXmlVersion = ReadU32(full, VkXmlVersionOffset),
            VkExtCommandSerializationSpecVersion = ReadU32(full, CommandSerializationSpecOffset),
            VkMesaVenusProtocolSpecVersion = ReadU32(full, VenusProtocolSpecOffset),
            SupportsBlobId0 = ReadU32(full, SupportsBlobId0Offset) != 0,
            ExtensionMask = new VenusExtensionMask(mask),
            AllowVkWaitSyncs = ReadU32(full, AllowVkWaitSyncsOffset) != 0,
            SupportsMultipleTimelines = ReadU32(full, SupportsMultipleTimelinesOffset) != 0,
            UseGuestVram = ReadU32(full, UseGuestVramOffset) != 0,
        };
        error = null;
        return true;
    }

    /// <summary>Writes the full 160-byte struct (booleans as 0/1).</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"the venus capset needs {Size} bytes, got {destination.Length}", nameof(destination));

        WriteU32(destination, WireFormatVersionOffset, WireFormatVersion);
        WriteU32(destination, VkXmlVersionOffset, VkXmlVersion);
        WriteU32(destination, CommandSerializationSpecOffset, VkExtCommandSerializationSpecVersion);
        WriteU32(destination, VenusProtocolSpecOffset, VkMesaVenusProtocolSpecVersion);
        WriteU32(destination, SupportsBlobId0Offset, SupportsBlobId0 ? 1u : 0u);
        for (int i = 0; i < VenusExtensionMask.WordCount; i++)
            WriteU32(destination, ExtensionMaskOffset + 4 * i, ExtensionMask[i]);
        WriteU32(destination, AllowVkWaitSyncsOffset, AllowVkWaitSyncs ? 1u : 0u);
        WriteU32(destination, SupportsMultipleTimelinesOffset, SupportsMultipleTimelines ? 1u : 0u);
        WriteU32(destination, UseGuestVramOffset, UseGuestVram ? 1u : 0u);
    }

    /// <summary>
    /// Why a guest driver of this protocol build cannot use a host with this capset (a different
    /// wire format, or a protocol older than Vulkan 1.1); null when it can. The guest ICD refuses
    /// such a host with this text, and <c>venus doctor</c> reports it.
    /// </summary>
    public string? WhyUnusable()
    {
        if (WireFormatVersion != VenusProtocolInfo.WireFormatVersion)
            return $"the host speaks Venus wire format {WireFormatVersion}; this driver speaks {VenusProtocolInfo.WireFormatVersion}";
        if (VkXmlVersion < MakeVulkanVersion(1, 1, 0))
            return $"the host's protocol is at vk.xml {FormatVulkanVersion(VkXmlVersion)}; Vulkan 1.1 is the minimum";
        return null;
    }

    /// <summary><c>VK_MAKE_API_VERSION(0, major, minor, patch)</c>.</summary>
    public static uint MakeVulkanVersion(uint major, uint minor, uint patch) =>
        (major << 22) | ((minor & 0x3FF) << 12) | (patch & 0xFFF);

    /// <summary>"1.3.269" for 0x40310d; a non-zero variant (top 3 bits) is written as a "variant:" prefix.</summary>
    public static string FormatVulkanVersion(uint version)
    {
        uint variant = version >> 29;
        uint major = (version >> 22) & 0x7F;
        uint minor = (version >> 12) & 0x3FF;
        uint patch = version & 0xFFF;
        return variant == 0 ? $"{major}.{minor}.{patch}" : $"{variant}:{major}.{minor}.{patch}";
    }

    private static uint ReadU32(ReadOnlySpan<byte> data, int offset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);

    private static void WriteU32(Span<byte> data, int offset, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(data[offset..], value);
}
