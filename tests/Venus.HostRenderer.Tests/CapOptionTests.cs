using Venus.HostRenderer;

namespace Venus.HostRenderer.Tests;

/// <summary>venus-host's cap options: sizes with K/M/G, and a bad value is a usage error (exit 2) before anything starts.</summary>
public sealed class CapOptionTests
{
    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("64M", 64UL << 20)]
    [InlineData("16g", 16UL << 30)]
    [InlineData("1K", 1024UL)]
    public void SizesParse(string text, ulong bytes)
    {
        Assert.True(Program.TryParseSize(text, out ulong n));
        Assert.Equal(bytes, n);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("M")]
    [InlineData("-1")]
    [InlineData("12T")]
    [InlineData("99999999999999999999")]
    [InlineData("17179869184G")]
    public void BadSizesAreRefused(string text) => Assert.False(Program.TryParseSize(text, out _));

    [Theory]
    [InlineData("--max-device-memory", "lots")]
    [InlineData("--max-shared-memory", "0")]
    [InlineData("--max-command-bytes", "1.5M")]
    [InlineData("--max-objects", "-3")]
    public void ABadCapIsAUsageError(string flag, string value)
    {
        var error = new StringWriter();
        TextWriter saved = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Program.Main(["serve", "--socket-path", "/tmp/venus-cap-option-test.sock", flag, value]));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains($"{flag} needs a size", error.ToString());
        Assert.Contains($"'{value}'", error.ToString());
    }
}
