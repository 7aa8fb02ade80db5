using Venus.Protocol.Tests.Generated;
using Venus.Protocol.Wire;

namespace Venus.Protocol.Tests;

/// <summary>
/// For every command with a body: random valid arguments → encode → decode → re-encode gives the
/// same bytes, Size equals the bytes written, and the same for the reply (encoded from the guest's
/// arguments, decoded into the memory the host decoder shaped from the partial request).
/// </summary>
public class RoundTripTests
{
    const int SeedsPerCommand = 25;

    public static TheoryData<int> Commands()
    {
        var d = new TheoryData<int>();
        foreach (var t in RandomArgs.CommandTypes) d.Add(t);
        return d;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void RequestAndReplyRoundTrip(int type)
    {
        for (int seed = 0; seed < SeedsPerCommand; seed++)
        {
            using var r = new TestRandom(seed * 7919 + type);
            string? error = RandomArgs.RoundTrip(type, r);
            Assert.True(error == null, $"{VenusProtocolInfo.CommandName(type)} seed {seed}: {error}");
        }
    }

    [Fact]
    public void EveryNumberedCommandWithARegistryDefinitionHasABody()
    {
        // Commands without a body are only those the protocol never carries (§1.8) or that are newer than vk.xml 1.4.309.
        for (int t = 0; t < VenusProtocolInfo.CommandTypeCount; t++)
        {
            if (VenusProtocolInfo.CommandName(t) == null) continue;
            if (VenusProtocolInfo.HasBody(t)) continue;
            string why = VenusProtocolInfo.WhyNoBody(t)!;
            Assert.True(why.Contains("newer than the registry") || why.Contains("PFN") || why.Contains("pointer to pointer")
                        || why.Contains("untyped pointer") || why.Contains("host") || why.Contains("replaced by") || why.Contains("cannot travel") || why.Contains("not encodable"),
                $"{t} {VenusProtocolInfo.CommandName(t)}: {why}");
        }
        Assert.True(RandomArgs.CommandTypes.Length >= 300, $"only {RandomArgs.CommandTypes.Length} commands have bodies");
    }
}
