using System.Numerics;
using System.Runtime.CompilerServices;

namespace Venus.Protocol;

/// <summary>
/// <c>vk_extension_mask1[32]</c> of the venus capset (fact sheet §5): bit N of word N/32 says
/// the renderer's protocol knows extension number N (the <c>number</c> attribute in vk.xml).
/// Bit 0 is not an extension: it marks the mask as valid (Mesa treats an invalid mask as
/// "everything supported").
/// </summary>
public readonly struct VenusExtensionMask : IEquatable<VenusExtensionMask>
{
    public const int WordCount = 32;
    public const int BitCount = WordCount * 32;
    private const uint ValidBit = 1;

    [InlineArray(WordCount)]
    private struct Words
    {
        private uint _element0;
    }

    private readonly Words _words;

    /// <summary>Copies up to 32 words; missing words are zero.</summary>
    public VenusExtensionMask(ReadOnlySpan<uint> words)
    {
        if (words.Length > WordCount)
            throw new ArgumentException($"an extension mask has {WordCount} words, got {words.Length}", nameof(words));
        words.CopyTo(_words);
    }

    /// <summary>A valid mask (bit 0 set) with the given extension numbers set.</summary>
    public static VenusExtensionMask FromExtensions(ReadOnlySpan<int> numbers)
    {
        Span<uint> words = stackalloc uint[WordCount];
        words[0] = ValidBit;
        foreach (int number in numbers)
        {
            CheckNumber(number);
            words[number >> 5] |= 1u << (number & 31);
        }
        return new VenusExtensionMask(words);
    }

    public uint this[int word] => _words[word];

    public bool IsValid => (_words[0] & ValidBit) != 0;

    /// <summary>The raw bit for extension <paramref name="number"/> (≥ 1); numbers past the mask are not supported.</summary>
    public bool Contains(int number)
    {
        CheckNumber(number, allowPastEnd: true);
        return number < BitCount && (_words[number >> 5] & (1u << (number & 31))) != 0;
    }

    /// <summary>Number of extension bits set, not counting the valid bit.</summary>
    public int Count
    {
        get
        {
            int count = 0;
            foreach (uint word in (ReadOnlySpan<uint>)_words)
                count += BitOperations.PopCount(word);
            return count - (int)(_words[0] & ValidBit);
        }
    }

    public void CopyTo(Span<uint> destination) => ((ReadOnlySpan<uint>)_words).CopyTo(destination);

    public bool Equals(VenusExtensionMask other) =>
        ((ReadOnlySpan<uint>)_words).SequenceEqual(other._words);

    public override bool Equals(object? obj) => obj is VenusExtensionMask other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (uint word in (ReadOnlySpan<uint>)_words)
            hash.Add(word);
        return hash.ToHashCode();
    }

    public static bool operator ==(VenusExtensionMask left, VenusExtensionMask right) => left.Equals(right);
    public static bool operator !=(VenusExtensionMask left, VenusExtensionMask right) => !left.Equals(right);

    public override string ToString() => $"{Count} extensions{(IsValid ? "" : " (mask not valid)")}";

    private static void CheckNumber(int number, bool allowPastEnd = false)
    {
        // Extension numbers start at 1 in vk.xml; bit 0 is the valid flag, never an extension.
        if (number < 1 || (!allowPastEnd && number >= BitCount))
            throw new ArgumentOutOfRangeException(nameof(number), number,
                $"extension numbers in the venus mask are 1..{BitCount - 1}");
    }
}
