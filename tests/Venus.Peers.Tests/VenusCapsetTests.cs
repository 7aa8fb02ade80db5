using System.Buffers.Binary;
using Venus.Protocol;

namespace Venus.Peers.Tests;

/// <summary>The capset record on its own (no server).</summary>
public sealed class VenusCapsetTests
{
    /// <summary>A capset laid out as virglrenderer 1.1.0 sends it (fact sheet §0, §5).</summary>
    private static byte[] Sample(int length = VenusCapset.Size)
    {
        byte[] data = new byte[VenusCapset.Size];
        Span<byte> s = data;
        BinaryPrimitives.WriteUInt32LittleEndian(s[0..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 0x40310d);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], 2);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 0x8000_8001); // valid bit, extensions 15 and 31
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], 0x0000_0001); // extension 32
        BinaryPrimitives.WriteUInt32LittleEndian(s[(20 + 4 * 31)..], 0x8000_0000); // extension 1023
        BinaryPrimitives.WriteUInt32LittleEndian(s[148..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[152..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[156..], 1);
        return data[..length];
    }

    [Fact]
    public void ParsesEveryField()
    {
        Assert.True(VenusCapset.TryParse(Sample(), out VenusCapset capset, out string? error), error);
        Assert.Null(error);
        Assert.Equal(1u, capset.WireFormatVersion);
        Assert.Equal(0x40310du, capset.VkXmlVersion);
        Assert.Equal(1u, capset.VkExtCommandSerializationSpecVersion);
        Assert.Equal(2u, capset.VkMesaVenusProtocolSpecVersion);
        Assert.True(capset.SupportsBlobId0);
        Assert.True(capset.ExtensionMask.IsValid);
        Assert.True(capset.AllowVkWaitSyncs);
        Assert.True(capset.SupportsMultipleTimelines);
        Assert.True(capset.UseGuestVram);
    }

    [Fact]
    public void ExtensionBitsFollowWordNOver32()
    {
        Assert.True(VenusCapset.TryParse(Sample(), out VenusCapset capset, out _));
        Assert.True(capset.HasExtension(15));
        Assert.True(capset.HasExtension(31));
        Assert.True(capset.HasExtension(32));
        Assert.True(capset.HasExtension(1023));
        Assert.False(capset.HasExtension(1));
        Assert.False(capset.HasExtension(33));
        Assert.False(capset.HasExtension(1024)); // past the mask: not supported
        Assert.Equal(4, capset.ExtensionCount); // the valid bit is not an extension
        Assert.Throws<ArgumentOutOfRangeException>(() => capset.HasExtension(0));
    }

    [Fact]
    public void ShortCapsetIsZeroExtended()
    {
        // 156 bytes: hosts without use_guest_vram.
        Assert.True(VenusCapset.TryParse(Sample(156), out VenusCapset capset, out _));
        Assert.False(capset.UseGuestVram);
        Assert.True(capset.SupportsMultipleTimelines);

        Assert.True(VenusCapset.TryParse(Sample(20), out VenusCapset head, out _));
        Assert.Equal(1u, head.WireFormatVersion);
        Assert.False(head.ExtensionMask.IsValid);
        Assert.Equal(0, head.ExtensionCount);
        Assert.False(head.AllowVkWaitSyncs);
    }

    [Fact]
    public void BytesPastTheStructAreIgnored()
    {
        byte[] longer = [.. Sample(), 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.True(VenusCapset.TryParse(longer, out VenusCapset capset, out _));
        Assert.True(VenusCapset.TryParse(Sample(), out VenusCapset expected, out _));
        Assert.Equal(expected, capset);
    }

    [Fact]
    public void RejectsEmptyAndUnalignedCapsets()
    {
        Assert.False(VenusCapset.TryParse([], out _, out string? empty));
        Assert.Contains("empty", empty);
        Assert.False(VenusCapset.TryParse(new byte[18], out _, out string? unaligned));
        Assert.Contains("18 bytes", unaligned);
    }

    [Fact]
    public void WriteToRoundTrips()
    {
        byte[] original = Sample();
        Assert.True(VenusCapset.TryParse(original, out VenusCapset capset, out _));
        byte[] written = new byte[VenusCapset.Size];
        capset.WriteTo(written);
        Assert.Equal(original, written);
        Assert.Throws<ArgumentException>(() => capset.WriteTo(new byte[156]));
    }

    [Fact]
    public void RecordEqualityComparesTheMask()
    {
        Assert.True(VenusCapset.TryParse(Sample(), out VenusCapset a, out _));
        Assert.True(VenusCapset.TryParse(Sample(), out VenusCapset b, out _));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        VenusCapset c = a with { ExtensionMask = VenusExtensionMask.FromExtensions([15, 31, 32]) };
        Assert.NotEqual(a, c);
        Assert.Equal(3, c.ExtensionCount);
        Assert.True(c.ExtensionMask.IsValid);
    }

    [Theory]
    [InlineData(0x40310du, "1.3.269")]
    [InlineData(0x401000u, "1.1.0")]
    [InlineData(0x403131u, "1.3.305")]
    [InlineData(0x20000000u, "1:0.0.0")]
    public void FormatsVulkanVersions(uint version, string text)
    {
        Assert.Equal(text, VenusCapset.FormatVulkanVersion(version));
    }

    [Fact]
    public void MakeVulkanVersionPacksLikeVkMakeApiVersion()
    {
        Assert.Equal(0x40310du, VenusCapset.MakeVulkanVersion(1, 3, 269));
    }
}
