// net/client_address: which address a request comes from, the socket's peer or, behind a
// trusted proxy, the rightmost X-Forwarded-For entry that is not one of ours.
#include "net/client_address.hpp"

#include <gtest/gtest.h>

namespace rtm::net {
namespace {

namespace ip = boost::asio::ip;

TrustedProxies proxies(std::string_view list) {
  auto p = TrustedProxies::parse(list);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().msg);
  return p.ok() ? *p : TrustedProxies{};
}

std::string from(std::string_view peer, std::vector<std::string_view> xff,
                 const TrustedProxies& trusted) {
  return client_address(peer, xff, trusted);
}

TEST(TrustedProxies, AddressesAndCidrRangesOfBothFamiliesMatch) {
  auto p = proxies("10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8");
  EXPECT_TRUE(p.contains(ip::make_address("10.200.3.4")));
  EXPECT_FALSE(p.contains(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(p.contains(ip::make_address("192.168.1.7")));
  EXPECT_FALSE(p.contains(ip::make_address("192.168.1.8")));
  EXPECT_TRUE(p.contains(ip::make_address("::1")));
  EXPECT_TRUE(p.contains(ip::make_address("fdab::17")));
  EXPECT_FALSE(p.contains(ip::make_address("fe80::1")));
}

TEST(TrustedProxies, PrefixesThatAreNotWholeBytesMatchOnlyTheirBits) {
  auto p = proxies("172.16.0.0/12");
  EXPECT_TRUE(p.contains(ip::make_address("172.31.255.255")));
  EXPECT_FALSE(p.contains(ip::make_address("172.32.0.0")));
  EXPECT_FALSE(p.contains(ip::make_address("172.15.255.255")));
  auto all = proxies("0.0.0.0/0");
  EXPECT_TRUE(all.contains(ip::make_address("8.8.8.8")));
  EXPECT_FALSE(all.contains(ip::make_address("2001:db8::1")));  // another family
}

TEST(TrustedProxies, AnIpv4MappedPeerMatchesItsIpv4Entry) {
  auto p = proxies("127.0.0.1");
  EXPECT_TRUE(p.contains(ip::make_address("::ffff:127.0.0.1")));
  auto mapped_range = proxies("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped_range.contains(ip::make_address("10.9.9.9")));
}

TEST(TrustedProxies, EntriesThatAreNotAddressesOrRangesAreRefusedByName) {
  for (std::string_view bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "proxy.example.com", "10.0.0.256",
        "1.2.3.4/8/9", "::ffff:10.0.0.0/95"}) {
    auto p = TrustedProxies::parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().rc, Rc::InvalidParameter);
    EXPECT_NE(p.error().msg.find(std::string(bad)), std::string::npos) << p.error().msg;
  }
  EXPECT_TRUE(TrustedProxies::parse("").ok());
  EXPECT_TRUE(TrustedProxies::parse(" , ").value().empty());
}

TEST(ClientAddress, WithoutTrustedProxiesXForwardedForIsIgnored) {
  EXPECT_EQ(from("203.0.113.9", {"198.51.100.1"}, TrustedProxies{}), "203.0.113.9");
}

TEST(ClientAddress, APeerThatIsNotATrustedProxyIsTheClientWhateverItForwards) {
  EXPECT_EQ(from("203.0.113.9", {"198.51.100.1"}, proxies("10.0.0.0/8")), "203.0.113.9");
}

TEST(ClientAddress, BehindATrustedProxyTheRightmostUntrustedEntryIsTheClient) {
  auto p = proxies("10.0.0.0/8");
  EXPECT_EQ(from("10.0.0.1", {"198.51.100.1"}, p), "198.51.100.1");
  // The client forged the first entry; the proxy appended what it saw.
  EXPECT_EQ(from("10.0.0.1", {"6.6.6.6, 198.51.100.1"}, p), "198.51.100.1");
  // A chain of our proxies: skip them from the right.
  EXPECT_EQ(from("10.0.0.1", {"6.6.6.6, 198.51.100.1, 10.1.1.1, 10.2.2.2"}, p), "198.51.100.1");
}

TEST(ClientAddress, SeveralHeaderLinesAreOneListInTheirOrder) {
  // The client sent one line; the proxy added its own line after it.
  auto p = proxies("10.0.0.1");
  EXPECT_EQ(from("10.0.0.1", {"6.6.6.6", "198.51.100.1"}, p), "198.51.100.1");
}

TEST(ClientAddress, WhenEveryEntryIsATrustedProxyTheLeftmostIsTheClient) {
  EXPECT_EQ(from("10.0.0.1", {"10.3.3.3, 10.2.2.2"}, proxies("10.0.0.0/8")), "10.3.3.3");
}

TEST(ClientAddress, AnEntryThatIsNotAnAddressStopsAtTheLastVouchedHop) {
  auto p = proxies("10.0.0.0/8");
  EXPECT_EQ(from("10.0.0.1", {"198.51.100.1, unknown"}, p), "10.0.0.1");
  EXPECT_EQ(from("10.0.0.1", {"garbage, 10.4.4.4"}, p), "10.4.4.4");
  EXPECT_EQ(from("10.0.0.1", {" , "}, p), "10.0.0.1");  // nothing given: the peer
  EXPECT_EQ(from("10.0.0.1", {}, p), "10.0.0.1");
}

TEST(ClientAddress, PortsAndBracketsOfForwardedEntriesAreDropped) {
  auto p = proxies("10.0.0.0/8");
  EXPECT_EQ(from("10.0.0.1", {"198.51.100.1:4711"}, p), "198.51.100.1");
  EXPECT_EQ(from("10.0.0.1", {"[2001:db8::7]:443"}, p), "2001:db8::7");
  EXPECT_EQ(from("10.0.0.1", {"[2001:db8::7]"}, p), "2001:db8::7");
  EXPECT_EQ(from("10.0.0.1", {"2001:db8::7"}, p), "2001:db8::7");
}

TEST(ClientAddress, Ipv4MappedAddressesAreAnsweredAsIpv4) {
  auto p = proxies("127.0.0.1");
  EXPECT_EQ(from("::ffff:127.0.0.1", {"::ffff:198.51.100.1"}, p), "198.51.100.1");
}

TEST(ClientAddress, AnUnknownPeerStaysUnknown) {
  EXPECT_EQ(from("", {"198.51.100.1"}, proxies("10.0.0.0/8")), "");
}

}  // namespace
}  // namespace rtm::net
